"""Boot delivery rules (docs/contract.md, "Fleet and boxes") on a plain directory standing in
for a box's /configs."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from reference.box.agent import ConfigError, build_card, parse_config, save_token
from reference.box.delivery import (
    STUB_CONFIG,
    DeliveryError,
    decode_files,
    deliver,
    ensure_config,
    mirror_plugins,
    write_plugin,
)

# Bytes a text-based delivery would change: the product ships raw bytes (base64 on the wire).
AWKWARD = {
    "config.yaml": b"name: awkward\r\nrole: crlf\r\n",
    "prompts/bom.md": b"\xef\xbb\xbfstarts with a BOM\n",
    "prompts/no-final-newline.md": b"last line without a newline",
    "prompts/empty.md": b"",
    "prompts/naïve café.md": b"non-ASCII name, with a space\n",
    "prompts/one/two/three/four.md": b"nested four levels\n",
    "prompts/latin1.md": b"caf\xe9 is not UTF-8\n",
}


def b(files: dict[str, str]) -> dict[str, bytes]:
    return {rel: text.encode() for rel, text in files.items()}


def wire(files: dict[str, bytes]) -> dict[str, str]:
    return {rel: base64.b64encode(data).decode() for rel, data in files.items()}


TEMPLATE = {
    "config.yaml": "name: seo-agent\nrole: SEO\nprompt_files:\n  - prompts/system.md\n",
    "prompts/system.md": "You are an SEO agent.\n",
    "prompts/playbooks/audit.md": "# audit\n",
}
USER_FILES = {
    "CLAUDE.md": "user notes\n",
    "MEMORY.md": "remember\n",
    ".claude/settings.json": "{}\n",
    "plugins/seo-all/plugin.yaml": "name: seo-all\n",
}


def tree(root: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def seed(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_delivers_every_file_byte_for_byte(tmp_path: Path) -> None:
    report = deliver(tmp_path, b(TEMPLATE))
    assert tree(tmp_path) == b(TEMPLATE)
    assert sorted(report.written) == sorted(TEMPLATE)
    assert not report.stub_written


def test_awkward_bytes_survive_the_wire_and_the_write(tmp_path: Path) -> None:
    deliver(tmp_path, decode_files(wire(AWKWARD)))
    assert tree(tmp_path) == AWKWARD


@pytest.mark.parametrize(
    ("value", "reason"),
    [("not base64!", "not valid base64"), ("YQ", "not valid base64"), (7, "not a base64 string")],
)
def test_bad_base64_is_refused_naming_the_path(value: object, reason: str) -> None:
    with pytest.raises(DeliveryError, match=f"'prompts/x.md' (is )?{reason}"):
        decode_files({"config.yaml": "bmFtZTogYQo=", "prompts/x.md": value}, "config secret s")


def test_a_set_that_is_not_a_map_or_nests_a_file_is_refused() -> None:
    with pytest.raises(DeliveryError, match="not a JSON object"):
        decode_files(["config.yaml"])
    with pytest.raises(DeliveryError, match=r"'prompts/a/b\.md' needs 'prompts/a'"):
        decode_files({"prompts/a": "", "prompts/a/b.md": ""})


def test_replaces_changed_template_files_and_keeps_user_files(tmp_path: Path) -> None:
    seed(tmp_path, USER_FILES)
    seed(tmp_path, {"config.yaml": "name: old\n", "prompts/system.md": "old prompt\n"})
    deliver(tmp_path, b(TEMPLATE))
    expected = {rel: text.encode() for rel, text in {**USER_FILES, **TEMPLATE}.items()}
    assert tree(tmp_path) == expected


def test_removes_template_owned_files_the_set_lacks_but_nothing_else(tmp_path: Path) -> None:
    seed(tmp_path, USER_FILES)
    seed(tmp_path, {"prompts/retired.md": "gone\n", "prompts/old/deep.md": "gone\n"})
    seed(tmp_path, {"notes/prompts/keep.md": "not template-owned\n", "prompts.md": "keep\n"})
    report = deliver(tmp_path, b(TEMPLATE))
    assert sorted(report.removed) == ["prompts/old/deep.md", "prompts/retired.md"]
    assert not (tmp_path / "prompts/old").exists()  # emptied template-owned dir pruned
    assert (tmp_path / "notes/prompts/keep.md").read_text() == "not template-owned\n"
    assert (tmp_path / "prompts.md").read_text() == "keep\n"
    for rel, text in USER_FILES.items():
        assert (tmp_path / rel).read_text() == text


def test_writes_the_218_byte_stub_when_no_config_arrives(tmp_path: Path) -> None:
    seed(tmp_path, {"config.yaml": "name: from-last-time\n"})
    report = deliver(tmp_path, {"prompts/system.md": b"x"})
    assert report.stub_written
    assert (tmp_path / "config.yaml").read_bytes() == STUB_CONFIG
    assert len(STUB_CONFIG) == 218
    assert parse_config(STUB_CONFIG.decode())["prompt_files"] == []


def test_ensure_config_leaves_an_existing_config_alone(tmp_path: Path) -> None:
    seed(tmp_path, {"config.yaml": "name: mine\n"})
    assert ensure_config(tmp_path) is False
    assert (tmp_path / "config.yaml").read_text() == "name: mine\n"


@pytest.mark.parametrize(
    "bad", ["/etc/passwd", "../escape.md", "prompts/../../x", "prompts//x", "./config.yaml", ""]
)
def test_refuses_unsafe_paths_and_writes_nothing(tmp_path: Path, bad: str) -> None:
    with pytest.raises(DeliveryError, match="refusing"):
        deliver(tmp_path, {"config.yaml": b"name: a\n", bad: b"evil"})
    with pytest.raises(DeliveryError, match="refusing"):
        decode_files({"config.yaml": "bmFtZTogYQo=", bad: "ZXZpbA=="})
    assert tree(tmp_path) == {}


def test_refuses_to_write_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "configs"
    root.mkdir()
    (root / "prompts").symlink_to(outside)
    with pytest.raises(DeliveryError, match="not a plain directory"):
        deliver(root, b(TEMPLATE))
    assert list(outside.iterdir()) == []


def test_leaves_no_temporary_files(tmp_path: Path) -> None:
    deliver(tmp_path, b(TEMPLATE))
    deliver(tmp_path, b({**TEMPLATE, "prompts/system.md": "changed\n"}))
    assert not [p for p in tmp_path.rglob(".*delivery-*")]


def test_writes_plugins_under_their_own_directory(tmp_path: Path) -> None:
    written = write_plugin(tmp_path, "seo-all", {"plugin.yaml": b"a", "rules/x.md": b"b\r\n"})
    assert written == ["plugins/seo-all/plugin.yaml", "plugins/seo-all/rules/x.md"]
    assert (tmp_path / "plugins/seo-all/rules/x.md").read_bytes() == b"b\r\n"
    with pytest.raises(DeliveryError):
        write_plugin(tmp_path, "../evil", {"x": b"y"})


def test_agent_card_names_role_and_prompt_digests(tmp_path: Path) -> None:
    deliver(tmp_path, b(TEMPLATE))
    card = build_card(tmp_path)
    assert card["name"] == "seo-agent"
    assert card["role"] == "SEO"
    digest = hashlib.sha256(TEMPLATE["prompts/system.md"].encode()).hexdigest()
    assert card["prompts"] == {"prompts/system.md": digest}
    assert "missing_prompts" not in card


def test_agent_card_lists_missing_prompt_files(tmp_path: Path) -> None:
    deliver(tmp_path, b({"config.yaml": TEMPLATE["config.yaml"]}))
    assert build_card(tmp_path)["missing_prompts"] == ["prompts/system.md"]


def test_auth_token_is_saved_owner_only(tmp_path: Path) -> None:
    save_token(tmp_path, "tok-1")
    save_token(tmp_path, "tok-2")
    assert (tmp_path / ".auth_token").read_text() == "tok-2"
    assert (tmp_path / ".auth_token").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [".auth_token"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name: [unclosed\n", "not valid YAML"),
        ("- a list\n", "must be a mapping"),
        ("role: no name\n", "'name' must be a non-empty string"),
        ("name: a\nprompt_files: prompts/x.md\n", "'prompt_files' must be a list"),
        ("name: a\nprompt_files: [../../etc/shadow]\n", "absolute or traversing"),
    ],
)
def test_invalid_config_gives_a_clear_reason(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_config(text)


def test_plugins_mirror_the_served_set(tmp_path: Path) -> None:
    seed(tmp_path, USER_FILES)  # includes plugins/seo-all/plugin.yaml
    seed(
        tmp_path,
        {
            "plugins/seo-all/rules/retired.md": "old rule\n",
            "plugins/lost/plugin.yaml": "name: lost\n",
            "plugins/lost/skills/x/SKILL.md": "x\n",
        },
    )
    report = mirror_plugins(tmp_path, {"seo-all": {"plugin.yaml": b"v2\n"}})
    assert sorted(report.removed) == ["plugins/lost", "plugins/seo-all/rules/retired.md"]
    assert tree(tmp_path / "plugins") == {"seo-all/plugin.yaml": b"v2\n"}
    for rel in ("CLAUDE.md", "MEMORY.md", ".claude/settings.json"):  # nothing else touched
        assert (tmp_path / rel).read_text() == USER_FILES[rel]


def test_plugin_mirror_removes_symlinks_never_their_targets(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.md").write_text("keep\n")
    root = tmp_path / "configs"
    (root / "plugins").mkdir(parents=True)
    (root / "plugins" / "sneaky").symlink_to(outside)
    mirror_plugins(root, {})
    assert not (root / "plugins" / "sneaky").exists()
    assert (outside / "keep.md").read_text() == "keep\n"


def test_plugin_mirror_refuses_bad_names_and_changes_nothing(tmp_path: Path) -> None:
    seed(tmp_path, {"plugins/old/plugin.yaml": "x"})
    with pytest.raises(DeliveryError, match="refusing plugin name"):
        mirror_plugins(tmp_path, {"../escape": {}})
    assert (tmp_path / "plugins/old/plugin.yaml").read_text() == "x"
