"""fixture.py: the expected bytes. A template fixture's template-owned part (config.yaml and
prompts/**, nothing else), its declared plugins by install name, a copy declaring other
plugins that changes only the `plugins:` lines, and what the gate expects of installed
plugins. Both repo fixtures are loaded for real: seo-agent and seo-agent-edge (the bytes a
careless channel would change)."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from e2e.harness.fixture import (
    CONFIGS,
    Expected,
    TemplateFixture,
    is_template_owned,
    is_user_config,
)
from e2e.harness.settings import FIXTURES, TEMPLATE_FIXTURE
from e2e.harness.templates import check_caps

EDGE = FIXTURES / "templates" / "seo-agent-edge"
SECRET_VALUE_CAP = 64 * 1024  # Secrets Manager keeps 64 KiB per secret value


def listed_prompts(fixture: TemplateFixture) -> list[str]:
    listed = fixture.config()["prompt_files"]
    assert isinstance(listed, list)
    return sorted(str(p) for p in listed)


def with_config(text: str | bytes) -> TemplateFixture:
    data = text.encode() if isinstance(text, str) else text
    return TemplateFixture({"config.yaml": data, "prompts/a.md": b"a\n"})


# -- with_plugins ------------------------------------------------------------------------------


def test_with_plugins_re_emits_only_the_plugins_lines_of_the_real_fixture() -> None:
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    before = fixture.files["config.yaml"].decode()
    assert "plugins:\n  - seo-all\n" in before
    changed = fixture.with_plugins(["gitea://o/agent-skills/seo-all#main", "local://extra"])
    after = changed.files["config.yaml"].decode()
    assert after == before.replace(
        "plugins:\n  - seo-all\n",
        "plugins: ['gitea://o/agent-skills/seo-all#main', 'local://extra']\n",
    )
    assert changed.declared_plugins() == ["extra", "seo-all"]
    assert {k: v for k, v in changed.files.items() if k != "config.yaml"} == {
        k: v for k, v in fixture.files.items() if k != "config.yaml"
    }
    assert fixture.declared_plugins() == ["seo-all"]  # the original is untouched


def test_with_no_plugins_declares_none_and_keeps_the_edge_fixtures_comments() -> None:
    fixture = TemplateFixture.from_dir(EDGE)
    before = fixture.files["config.yaml"].decode()
    after = fixture.with_plugins([]).files["config.yaml"].decode()
    assert after == before.replace("plugins:\n  - seo-all\n", "plugins: []\n")
    assert after.startswith("# seo-agent (edge-case fixture)")
    assert "name:   seo-agent-edge      # trailing comment after extra spaces\n" in after
    assert fixture.with_plugins([]).declared_plugins() == []


def test_crlf_line_ends_are_kept_in_the_lines_it_writes_too() -> None:
    text = "# crlf config\r\nname: x\r\nplugins:\r\n  - old\r\n  - older\r\nmodel: m  # kept\r\n"
    after = with_config(text).with_plugins(["a", "b"]).files["config.yaml"]
    assert after == b"# crlf config\r\nname: x\r\nplugins: [a, b]\r\nmodel: m  # kept\r\n"
    assert b"\n" not in after.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "plugins",
    [
        "plugins: [old, older]  # flow list\n",
        "plugins:\n- old\n- older\n",  # dashes at column 0
        "plugins:\n    -   old\n    -   older\n",
        "plugins: []\n",
    ],
    ids=["flow", "dashes-at-column-0", "deep-indent", "empty-flow"],
)
def test_block_and_flow_lists_are_replaced_whole(plugins: str) -> None:
    text = "# head\nname: x\n" + plugins + "limits: {a: 1}\n# tail\n"
    after = with_config(text).with_plugins(["new"]).files["config.yaml"].decode()
    assert after == "# head\nname: x\nplugins: [new]\nlimits: {a: 1}\n# tail\n"
    assert yaml.safe_load(after) == {"name": "x", "plugins": ["new"], "limits": {"a": 1}}


def test_a_comment_after_the_plugins_list_is_kept() -> None:
    text = "plugins:\n  - old\n# the limits below are per run\nlimits: {a: 1}\n"
    after = with_config(text).with_plugins(["new"]).files["config.yaml"].decode()
    assert after == "plugins: [new]\n# the limits below are per run\nlimits: {a: 1}\n"


def test_a_blank_line_inside_the_plugins_list_leaves_no_item_behind() -> None:
    text = "plugins:\n  - a\n\n  - b\nname: x\n"
    assert yaml.safe_load(text) == {"plugins": ["a", "b"], "name": "x"}
    after = with_config(text).with_plugins(["new"])
    assert after.declared_plugins() == ["new"]


def test_a_config_without_plugins_gets_them_declared() -> None:
    after = with_config("name: x\nmodel: m\n").with_plugins(["seo-all"])
    assert after.declared_plugins() == ["seo-all"]


# -- declared plugins and owned files ----------------------------------------------------------


def test_declared_plugins_are_install_names_once_each() -> None:
    text = (
        "plugins:\n"
        "  - gitea://molecule/agent-skills/seo-all#main\n"
        "  - github://acme/linter-plugin\n"
        "  - local://seo-all\n"
        "  - bare-name\n"
    )
    assert with_config(text).declared_plugins() == ["bare-name", "linter-plugin", "seo-all"]
    assert with_config("plugins: seo-all\n").declared_plugins() == []  # not a list
    assert with_config(": not yaml: [\n").declared_plugins() == []
    assert with_config(b"\xff\xfe").declared_plugins() == []
    assert with_config("name: x\n").declared_plugins() == []


def test_only_config_yaml_and_prompts_are_template_owned() -> None:
    assert is_template_owned("config.yaml") and is_template_owned("prompts/a/b.md")
    assert not is_template_owned("CLAUDE.md") and not is_template_owned("prompts.md")
    assert not is_template_owned(".claude/settings.json")
    assert is_user_config("CLAUDE.md") and is_user_config(".claude/commands/x.md")
    for runtime_owned in (".auth_token", ".restore-completed", "plugins/p/x", "skills/s/x"):
        assert not is_user_config(runtime_owned) and not is_template_owned(runtime_owned)


def test_the_seo_agent_fixture() -> None:
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    assert set(fixture.files) - set(fixture.owned) == {"CLAUDE.md", ".claude/settings.json"}
    assert fixture.prompts == listed_prompts(fixture)
    assert len(fixture.prompts) == 6
    manifest = fixture.manifest()
    assert manifest.root == CONFIGS and set(manifest.entries) == set(fixture.owned)
    payload = fixture.import_payload()
    assert set(payload) == set(fixture.files)  # the import carries everything, defaults too
    assert all(payload[rel].encode() == data for rel, data in fixture.files.items())


def test_the_edge_fixture_holds_the_bytes_a_careless_channel_changes() -> None:
    fixture = TemplateFixture.from_dir(EDGE)
    owned = fixture.owned
    assert b"\r\n" in owned["prompts/windows-crlf.md"]
    assert owned["prompts/bom.md"].startswith(b"\xef\xbb\xbf")
    assert owned["prompts/empty.md"] == b""
    assert not owned["prompts/no-final-newline.md"].endswith(b"\n")
    assert b"\t" in owned["prompts/tabs and trailing spaces.md"]
    assert b" \n" in owned["prompts/tabs and trailing spaces.md"]
    assert "prompts/Übersicht café.md" in owned  # non-ASCII, with a space
    assert "prompts/l1/l2/l3/l4/deep.md" in owned  # 4 levels below prompts/
    assert fixture.prompts == listed_prompts(fixture)
    payload = fixture.import_payload()  # JSON text: every byte must survive the round trip
    assert all(payload[rel].encode("utf-8") == data for rel, data in fixture.files.items())


def test_the_edge_fixtures_delivered_set_fits_one_secret_and_the_cap() -> None:
    """The control plane stages config_files as one secret `{relpath: base64}`: near, but
    under, Secrets Manager's 64 KiB per value — and under the tenant's 256 KiB cap."""
    owned = TemplateFixture.from_dir(EDGE).owned
    secret = json.dumps({rel: base64.b64encode(data).decode() for rel, data in owned.items()})
    assert 48 * 1024 < len(secret.encode()) < SECRET_VALUE_CAP, len(secret)
    check_caps(TemplateFixture.from_dir(EDGE))


# -- Expected -----------------------------------------------------------------------------------


def test_expect_plugin_from_the_repo_fixture_is_byte_exact() -> None:
    expected = Expected(TemplateFixture.from_dir(TEMPLATE_FIXTURE))
    expected.expect_plugin("seo-all")
    manifest = expected.plugins["seo-all"]
    assert manifest is not None and manifest.root == f"{CONFIGS}/plugins/seo-all"
    assert {"SKILL.md", "rules/cite-sources.md", "settings-fragment.json"} <= set(manifest.entries)
    assert expected.effects.required  # its rules are known, so their blocks are checked


def test_expect_plugin_on_staging_checks_presence_and_still_knows_its_effects() -> None:
    expected = Expected(TemplateFixture.from_dir(TEMPLATE_FIXTURE))
    expected.expect_plugin("seo-all", byte_exact=False)
    assert expected.plugins == {"seo-all": None}
    assert expected.plugin_sources["seo-all"] is not None and expected.effects.required


def test_expect_a_plugin_the_repo_does_not_hold() -> None:
    expected = Expected(TemplateFixture.from_dir(TEMPLATE_FIXTURE))
    expected.expect_plugin("from-gitea")
    assert expected.plugins == {"from-gitea": None}
    assert expected.effects.unknown == ["from-gitea"]
