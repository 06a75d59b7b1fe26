"""effects.py: what installed plugins may legitimately change in the user's files — rule
blocks appended once to CLAUDE.md after the user's bytes, a settings fragment merged in (the
user's values win), command files added — and nothing else.

The cross-check at the end runs the reference box's own runtime code
(`reference.box.plugin_effects.apply_plugin_effects`) with the fixture plugin on a temp
/configs, and asserts that the harness accepts exactly its idempotent result and flags the
`plugin-rules-repeat` result: the harness's model and the runtime it judges cannot drift
apart unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.local_box import LocalBox

from e2e.harness.decide import decide
from e2e.harness.effects import (
    COMMANDS,
    PluginEffects,
    merge_missing,
    plugin_files,
    split_blocks,
)
from e2e.harness.fixture import CONFIGS, Expected, TemplateFixture
from e2e.harness.settings import PLUGINS_FIXTURE, TEMPLATE_FIXTURE
from reference.box.plugin_effects import apply_plugin_effects

RULE = b"# Rule\n\nCite sources.\n"
SEO = {
    "SKILL.md": b"# seo\nskills inside\n",
    "README.md": b"# not a fragment\n",
    "rules/cite.md": RULE,
    "rules/sub/deep.md": b"not a rule: nested\n",
    "rules/notes.txt": b"not a rule: not markdown\n",
    "commands/audit.md": b"Run the audit.\n",
    "settings-fragment.json": b'{"env": {"SEO": "1"}, "permissions": {"allow": ["WebFetch"]}}',
}
USER = b"# My own CLAUDE.md\n\nBe brief.\n"
CITE = b"# Plugin: seo / rule: cite.md"
SKILL = b"# Plugin: seo / fragment: SKILL.md"


def block(header: bytes, body: bytes) -> bytes:
    return b"\n" + header + b"\n\n" + body


def test_the_plugin_files_are_sorted_into_rules_fragments_commands_and_settings() -> None:
    effects = PluginEffects.of({"seo": SEO})
    assert effects.required == {CITE: RULE}
    assert effects.optional == {SKILL: SEO["SKILL.md"]}  # README.md is no fragment
    assert effects.commands == {COMMANDS + "audit.md": b"Run the audit.\n"}
    assert effects.fragments == [{"env": {"SEO": "1"}, "permissions": {"allow": ["WebFetch"]}}]
    assert effects.unknown == []


def test_rules_appended_once_after_the_users_bytes_are_fine() -> None:
    effects = PluginEffects.of({"seo": SEO})
    assert effects.check_claude_md(USER, USER + block(CITE, RULE)) == []
    assert (
        effects.check_claude_md(USER, USER + block(CITE, RULE) + block(SKILL, SEO["SKILL.md"]))
        == []
    )
    assert effects.check_claude_md(None, CITE + b"\n\n" + RULE) == []  # no CLAUDE.md of their own


def test_rules_appended_twice_are_a_finding() -> None:
    effects = PluginEffects.of({"seo": SEO})
    problems = effects.check_claude_md(USER, USER + block(CITE, RULE) + block(CITE, RULE))
    assert problems == [
        "plugin blocks appended more than once: # Plugin: seo / rule: cite.md (2 times)"
    ]


def test_the_users_bytes_must_stay_at_the_start() -> None:
    effects = PluginEffects.of({"seo": SEO})
    problems = effects.check_claude_md(USER, b"# template CLAUDE.md\n" + block(CITE, RULE))
    assert problems == [f"the user's {len(USER)} bytes are not kept at its start"]
    assert effects.check_claude_md(USER, block(CITE, RULE) + USER)  # blocks before the user


def test_a_block_of_no_installed_plugin_is_a_finding_unless_that_plugin_is_unknown() -> None:
    effects = PluginEffects.of({"seo": SEO})
    other = b"# Plugin: other / rule: x.md"
    problems = effects.check_claude_md(USER, USER + block(CITE, RULE) + block(other, b"x\n"))
    assert problems == ["unknown block '# Plugin: other / rule: x.md'"]
    unknown = PluginEffects.of({"seo": SEO, "other": None})  # installed from a remote source
    assert unknown.unknown == ["other"]
    assert unknown.check_claude_md(USER, USER + block(CITE, RULE) + block(other, b"x\n")) == []


def test_a_block_whose_text_is_not_the_plugins_is_a_finding() -> None:
    effects = PluginEffects.of({"seo": SEO})
    problems = effects.check_claude_md(USER, USER + block(CITE, b"# Rule\n\nAnything goes.\n"))
    assert problems == ["block '# Plugin: seo / rule: cite.md' is not the plugin's text"]


def test_a_missing_rule_block_and_stray_text_are_findings() -> None:
    effects = PluginEffects.of({"seo": SEO})
    assert effects.check_claude_md(USER, USER + block(SKILL, SEO["SKILL.md"])) == [
        "plugin rule blocks missing: # Plugin: seo / rule: cite.md"
    ]
    problems = effects.check_claude_md(USER, USER + b"\nappended by someone\n" + block(CITE, RULE))
    assert problems == ["text outside any plugin block: b'\\nappended by someone\\n\\n'"]


def test_settings_merge_adds_missing_keys_and_keeps_the_users_values() -> None:
    effects = PluginEffects.of({"seo": SEO})
    user = {"model": "mine", "env": {"SEO": "0"}, "permissions": {"deny": ["Bash(rm:*)"]}}
    merged = {
        "model": "mine",
        "env": {"SEO": "0"},  # the user's value wins
        "permissions": {"deny": ["Bash(rm:*)"], "allow": ["WebFetch"]},
    }
    as_bytes = lambda d: json.dumps(d, indent=2).encode()  # noqa: E731
    assert effects.check_settings(as_bytes(user), as_bytes(merged)) == []
    assert effects.check_settings(None, as_bytes(json.loads(SEO["settings-fragment.json"]))) == []
    overwritten = merged | {"env": {"SEO": "1"}}
    assert effects.check_settings(as_bytes(user), as_bytes(overwritten)) == [
        "is not the user's settings with the plugins' fragments merged in"
    ]
    assert effects.check_settings(as_bytes(user), b"{not json")[0].startswith("not JSON (")


def test_settings_change_without_a_fragment_is_a_finding() -> None:
    effects = PluginEffects.of({"plain": {"rules/r.md": b"r\n"}})
    assert effects.check_settings(b"{}", b"{}") == []
    assert effects.check_settings(b"{}", b'{"a": 1}') == [
        "changed, and no installed plugin merges settings"
    ]


def test_merge_missing_never_overrides_and_merges_only_objects() -> None:
    base = {"a": 1, "n": {"x": 1}, "l": [1], "s": "user"}
    fragment = {"a": 2, "n": {"x": 2, "y": 3}, "l": [2], "s": {"obj": True}, "new": [4]}
    assert merge_missing(base, fragment) == {
        "a": 1,
        "n": {"x": 1, "y": 3},
        "l": [1],
        "s": "user",
        "new": [4],
    }
    assert merge_missing([1], {"a": 1}) == [1]


def test_split_blocks_keeps_bodies_and_the_text_before_the_first_header() -> None:
    text = b"stray\n# Plugin: a / rule: r.md\r\n\r\nbody\r\n# Plugin: b / fragment: S.md\n\nb\n"
    blocks, stray = split_blocks(text)
    assert stray == b"stray\n"
    assert blocks == [
        (b"# Plugin: a / rule: r.md", b"\r\nbody\r\n"),
        (b"# Plugin: b / fragment: S.md", b"\nb\n"),
    ]
    assert split_blocks(b"") == ([], b"")


def test_plugin_files_of_a_missing_directory_is_none(tmp_path: Path) -> None:
    assert plugin_files(tmp_path / "nope") is None
    (tmp_path / "p" / "rules").mkdir(parents=True)
    (tmp_path / "p" / "rules" / "r.md").write_bytes(b"r\n")
    assert plugin_files(tmp_path / "p") == {"rules/r.md": b"r\n"}


# -- the cross-check against the reference runtime ---------------------------------------------

FIXTURE_PLUGIN = plugin_files(PLUGINS_FIXTURE / "seo-all")
USER_CLAUDE = {
    "plain": b"# My own CLAUDE.md\n\nBe brief.\n",
    "no-final-newline": b"# Mine\nno final newline",
    "crlf": b"# Mine\r\nwindows line ends\r\n",
    "empty": b"",
    "absent": None,
}
USER_SETTINGS = (
    json.dumps(
        {
            "model": "user-choice",
            "env": {"SEO_ALL_ENABLED": "0"},  # the fragment says "1": the user's value wins
            "permissions": {"deny": ["Bash(rm:*)"]},
        },
        indent=1,
    )
    + "\n"
).encode()


def user_box(tmp_path: Path, claude: bytes | None) -> tuple[LocalBox, dict[str, bytes]]:
    """A box after its template was delivered and the user wrote their files; the plugin's
    files pushed to /configs/plugins/seo-all/ as the product does."""
    assert FIXTURE_PLUGIN is not None
    box = LocalBox(tmp_path / "box")
    template = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    box.put(CONFIGS, template.owned)
    user = {f"{CONFIGS}/.claude/settings.json": USER_SETTINGS, "/workspace/notes.md": b"n\n"}
    if claude is not None:
        user[f"{CONFIGS}/CLAUDE.md"] = claude
    box.write(user)
    box.put(f"{CONFIGS}/plugins/seo-all", FIXTURE_PLUGIN)
    return box, user


@pytest.mark.parametrize("root_skill", ["fragment", "skill-dir"])
@pytest.mark.parametrize("claude", USER_CLAUDE.values(), ids=USER_CLAUDE.keys())
def test_the_harness_accepts_exactly_what_the_reference_runtime_does_once_and_again(
    tmp_path: Path, claude: bytes | None, root_skill: str
) -> None:
    box, _ = user_box(tmp_path, claude)
    effects = PluginEffects.of({"seo-all": FIXTURE_PLUGIN})
    memory = box.configs / "CLAUDE.md"

    report = apply_plugin_effects(box.configs, root_skill=root_skill)
    assert len(report.appended) >= len(effects.required) and not report.warnings
    once = memory.read_bytes()
    assert effects.check_claude_md(claude, once) == []
    settings = (box.configs / ".claude" / "settings.json").read_bytes()
    assert effects.check_settings(USER_SETTINGS, settings) == []
    assert json.loads(settings)["env"]["SEO_ALL_ENABLED"] == "0"
    for rel, data in effects.commands.items():
        assert (box.configs / rel).read_bytes() == data

    apply_plugin_effects(box.configs, root_skill=root_skill)  # every later boot
    assert memory.read_bytes() == once
    assert effects.check_claude_md(claude, memory.read_bytes()) == []


@pytest.mark.parametrize("claude", USER_CLAUDE.values(), ids=USER_CLAUDE.keys())
def test_the_harness_flags_what_the_runtime_does_under_plugin_rules_repeat(
    tmp_path: Path, claude: bytes | None
) -> None:
    box, _ = user_box(tmp_path, claude)
    effects = PluginEffects.of({"seo-all": FIXTURE_PLUGIN})
    apply_plugin_effects(box.configs, repeat_blocks=True)
    assert effects.check_claude_md(claude, (box.configs / "CLAUDE.md").read_bytes()) == []
    apply_plugin_effects(box.configs, repeat_blocks=True)  # the next boot appends again
    problems = effects.check_claude_md(claude, (box.configs / "CLAUDE.md").read_bytes())
    assert len(problems) == 1 and problems[0].startswith("plugin blocks appended more than once: ")
    assert "# Plugin: seo-all / rule: cite-sources.md (2 times)" in problems[0]


def test_the_whole_decision_on_a_box_the_reference_runtime_booted_twice(tmp_path: Path) -> None:
    """The gate's own decide() on the reference runtime's result: clean after any number of
    idempotent boots; the repeat fault named as the fault table says (`/configs/CLAUDE.md`,
    `appended more than once`)."""
    box, user = user_box(tmp_path, USER_CLAUDE["plain"])
    expected = Expected(TemplateFixture.from_dir(TEMPLATE_FIXTURE))
    expected.user = box.reading().user_part()
    expected.user_contents = dict(user)
    expected.expect_plugin("seo-all")
    for _ in range(2):
        apply_plugin_effects(box.configs)
        assert decide("after restart", box.reading(), expected, box).findings == []

    apply_plugin_effects(box.configs, repeat_blocks=True)
    findings = decide("after restart", box.reading(), expected, box).findings
    assert [(f.section, f.headline) for f in findings] == [
        ("user/agent", "user/agent files changed: /configs/CLAUDE.md")
    ]
    assert "appended more than once" in findings[0].details[0]
