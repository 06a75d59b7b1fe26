"""The runtime's plugin effects (boot step d) on a plain directory standing in for /configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reference.box.delivery import DeliveryError
from reference.box.plugin_effects import apply_plugin_effects, block_bytes, merge_missing
from reference.box.plugin_sources import declared_plugins, install_name

SEO = {
    "plugin.yaml": b"name: seo-all\n",
    "SKILL.md": b"# SEO all\nUse it well.\n",
    "README.md": b"not a fragment\n",
    "rules/b-second.md": b"second rule, no final newline",
    "rules/a-first.md": b"first rule\n",
    "rules/notes.txt": b"not markdown\n",
    "skills/audit/SKILL.md": b"audit skill\n",
    "skills/audit/scripts/run.sh": b"#!/bin/sh\necho audit\n",
    "commands/seo.md": b"/seo command\n",
    "settings-fragment.json": json.dumps(
        {"env": {"SEO": "1", "USER_KEY": "plugin"}, "permissions": {"allow": ["Read"]}}
    ).encode(),
}
HEADERS = [
    "# Plugin: seo-all / rule: a-first.md",
    "# Plugin: seo-all / rule: b-second.md",
    "# Plugin: seo-all / fragment: SKILL.md",
]


def install(configs: Path, name: str, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = configs / "plugins" / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_rules_and_root_fragments_are_appended_once_in_order(tmp_path: Path) -> None:
    install(tmp_path, "seo-all", SEO)
    (tmp_path / "CLAUDE.md").write_bytes(b"user notes, no final newline")
    for _ in range(3):
        apply_plugin_effects(tmp_path)
    assert (tmp_path / "CLAUDE.md").read_bytes() == (
        b"user notes, no final newline\n"
        b"\n# Plugin: seo-all / rule: a-first.md\n\nfirst rule\n"
        b"\n# Plugin: seo-all / rule: b-second.md\n\nsecond rule, no final newline\n"
        b"\n# Plugin: seo-all / fragment: SKILL.md\n\n# SEO all\nUse it well.\n"
    )


def test_claude_md_is_created_when_missing(tmp_path: Path) -> None:
    install(tmp_path, "p", {"rules/r.md": b"rule\n"})
    report = apply_plugin_effects(tmp_path)
    assert (tmp_path / "CLAUDE.md").read_bytes() == b"# Plugin: p / rule: r.md\n\nrule\n"
    assert report.appended == ["# Plugin: p / rule: r.md"]


def test_the_repeat_fault_appends_on_every_run(tmp_path: Path) -> None:
    install(tmp_path, "seo-all", SEO)
    apply_plugin_effects(tmp_path, repeat_blocks=True)
    apply_plugin_effects(tmp_path, repeat_blocks=True)
    text = lines(tmp_path / "CLAUDE.md")
    assert [text.count(header) for header in HEADERS] == [2, 2, 2]


def test_plugins_apply_sorted_by_name(tmp_path: Path) -> None:
    install(tmp_path, "zeta", {"rules/r.md": b"z\n"})
    install(tmp_path, "alpha", {"GUIDE.md": b"a\n", "LICENSE.md": b"l\n", "Changelog.md": b"c\n"})
    apply_plugin_effects(tmp_path)
    headers = [line for line in lines(tmp_path / "CLAUDE.md") if line.startswith("# Plugin")]
    assert headers == ["# Plugin: alpha / fragment: GUIDE.md", "# Plugin: zeta / rule: r.md"]


def test_skills_and_commands_are_copied_once_and_never_overwritten(tmp_path: Path) -> None:
    install(tmp_path, "seo-all", SEO)
    apply_plugin_effects(tmp_path)
    script = "skills/audit/scripts/run.sh"
    assert (tmp_path / script).read_bytes() == SEO[script]
    assert (tmp_path / ".claude/commands/seo.md").read_bytes() == b"/seo command\n"
    (tmp_path / ".claude/commands/seo.md").write_bytes(b"user edit\n")
    (tmp_path / "skills/audit/SKILL.md").write_bytes(b"user edit\n")
    report = apply_plugin_effects(tmp_path)
    assert (tmp_path / ".claude/commands/seo.md").read_bytes() == b"user edit\n"
    assert (tmp_path / "skills/audit/SKILL.md").read_bytes() == b"user edit\n"
    assert report.written == []
    assert not (tmp_path / "skills/seo-all").exists()  # fragment mode: no skill dir


def test_skill_dir_mode_copies_the_root_skill_instead_of_appending_it(tmp_path: Path) -> None:
    install(tmp_path, "seo-all", SEO)
    apply_plugin_effects(tmp_path, root_skill="skill-dir")
    assert (tmp_path / "skills/seo-all/SKILL.md").read_bytes() == SEO["SKILL.md"]
    assert "# Plugin: seo-all / fragment: SKILL.md" not in lines(tmp_path / "CLAUDE.md")
    with pytest.raises(ValueError, match="root_skill"):
        apply_plugin_effects(tmp_path, root_skill="copy")


def test_settings_fragment_adds_missing_keys_and_keeps_the_users(tmp_path: Path) -> None:
    install(tmp_path, "seo-all", SEO)
    settings = tmp_path / ".claude/settings.json"
    settings.parent.mkdir()
    user = {"env": {"USER_KEY": "mine"}, "permissions": {"allow": ["Bash"]}, "theme": "dark"}
    settings.write_text(json.dumps(user))
    apply_plugin_effects(tmp_path)
    assert json.loads(settings.read_text()) == {
        "env": {"SEO": "1", "USER_KEY": "mine"},
        "permissions": {"allow": ["Bash"]},
        "theme": "dark",
    }
    assert settings.read_text().endswith("}\n")
    written = settings.stat().st_mtime_ns
    assert ".claude/settings.json" not in apply_plugin_effects(tmp_path).written
    assert settings.stat().st_mtime_ns == written


def test_unparsable_settings_are_left_untouched(tmp_path: Path) -> None:
    install(tmp_path, "seo-all", SEO)
    settings = tmp_path / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_bytes(b"{not json")
    report = apply_plugin_effects(tmp_path)
    assert settings.read_bytes() == b"{not json"
    assert any("unparsable" in w for w in report.warnings)


def test_merge_missing_is_recursive_and_keeps_scalars_and_lists() -> None:
    existing = {"a": {"b": 1, "l": [1]}, "s": "x"}
    fragment = {"a": {"b": 2, "c": 3, "l": [2]}, "s": {"new": 1}}
    assert merge_missing(existing, fragment) == {"a": {"b": 1, "c": 3, "l": [1]}, "s": "x"}


def test_block_format() -> None:
    assert block_bytes(b"", "# H", b"c") == b"# H\n\nc\n"
    assert block_bytes(b"x\n", "# H", b"c\n") == b"\n# H\n\nc\n"
    assert block_bytes(b"x", "# H", b"") == b"\n\n# H\n\n\n"


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("local://seo-all", "seo-all"),
        ("seo-all", "seo-all"),
        ("github://acme/tools#v1.2", "tools"),
        ("gitea://molecule-ai/tmpl-seo/agent-skills/seo-all#main", "seo-all"),
        ("gitea://o/r/sub/path/#ref", "path"),
    ],
)
def test_install_name_is_the_last_path_segment(source: str, name: str) -> None:
    assert install_name(source) == name


def test_declared_plugins_parse_the_env_value() -> None:
    assert declared_plugins(" local://a, b ,,github://o/c#x, local://a") == [
        ("local://a", "a"),
        ("b", "b"),
        ("github://o/c#x", "c"),
    ]
    assert declared_plugins("") == []
    with pytest.raises(DeliveryError):
        declared_plugins("local://..")
