"""Template resolution and collection on the tenant side (reference/platform/templates.py), as
the product's resolveWorkspaceTemplatePath and collectCPConfigFiles (cp_provisioner.go) do it:
nothing escapes the root; only config.yaml + prompts/** travel, byte for byte, symlinks
skipped, at most 256 KiB in total."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from support.platform_rows import write_tree

from reference.platform.templates import (
    TemplateError,
    collect_cp_config_files,
    is_cp_template_asset_path,
    resolve_workspace_template_path,
)

KIB = 1024
AWKWARD = {
    "config.yaml": b"name: t\r\nruntime: claude-code\r\nmodel: m",  # CRLF, no final newline
    "prompts/bom.md": b"\xef\xbb\xbfhello\n",
    "prompts/latin1.md": b"caf\xe9 \xff\xfe\n",  # not UTF-8
    "prompts/empty.md": b"",
    "prompts/Übersicht café.md": "ü\tx  \n".encode(),
    "prompts/a/b/c/d/deep.md": b"deep\n",
}


# -- resolve ----------------------------------------------------------------------------------


def test_resolve_finds_a_template_directory_in_the_first_root_that_has_it(tmp_path: Path) -> None:
    first = write_tree(tmp_path / "one", {"t/config.yaml": "a"})
    second = write_tree(tmp_path / "two", {"t/config.yaml": "b", "u/config.yaml": "c"})
    assert resolve_workspace_template_path("t", [first, second]) == (first / "t").resolve()
    assert resolve_workspace_template_path("u", [first, second]) == (second / "u").resolve()
    assert resolve_workspace_template_path("missing", [first, second]) is None
    write_tree(first, {"afile": "x"})
    assert resolve_workspace_template_path("afile", [first]) is None  # not a directory


@pytest.mark.parametrize("name", ["", "..", "../t", "t/../../x", "/etc", "/tmp/t", "a\\b", "./t"])
def test_resolve_refuses_traversal_and_absolute_names(tmp_path: Path, name: str) -> None:
    root = write_tree(tmp_path / "root", {"t/config.yaml": "a"})
    with pytest.raises(TemplateError):
        resolve_workspace_template_path(name, [root])


def test_resolve_refuses_a_symlink_out_of_the_root_but_follows_one_inside(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "root", {"real/config.yaml": "a"})
    outside = write_tree(tmp_path / "outside", {"config.yaml": "evil"})
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    with pytest.raises(TemplateError, match="outside the template root"):
        resolve_workspace_template_path("escape", [root])
    assert resolve_workspace_template_path("alias", [root]) == (root / "real").resolve()


def test_resolve_refuses_a_name_under_a_symlinked_parent_that_leaves_the_root(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = write_tree(tmp_path / "outside", {"t/config.yaml": "evil"})
    (root / "group").symlink_to(outside, target_is_directory=True)
    with pytest.raises(TemplateError):
        resolve_workspace_template_path("group/t", [root])


# -- collect ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "owned"),
    [
        ("config.yaml", True),
        ("prompts/a.md", True),
        ("prompts/x/y/z.md", True),
        ("prompts/", False),
        ("prompts", False),
        ("sub/config.yaml", False),
        ("CLAUDE.md", False),
        (".claude/settings.json", False),
        ("prompts/../CLAUDE.md", False),
        ("config.yml", False),
        ("promptsx/a.md", False),
    ],
)
def test_template_owned_paths_are_config_yaml_and_prompts(path: str, owned: bool) -> None:
    assert is_cp_template_asset_path(path) is owned


def test_collect_keeps_only_template_owned_files_byte_for_byte(tmp_path: Path) -> None:
    extra = {"CLAUDE.md": b"user file\n", ".claude/settings.json": b"{}", "notes/x.md": b"x"}
    root = write_tree(tmp_path / "t", {**AWKWARD, **extra})
    collected = collect_cp_config_files(root, "t")
    assert collected.files == AWKWARD
    assert collected.total_bytes == sum(len(v) for v in AWKWARD.values())
    assert {k: v for k, v in collected.skipped.items()} == {
        rel: "not template-owned" for rel in extra
    }
    wire = collected.wire()
    assert {rel: base64.b64decode(v, validate=True) for rel, v in wire.items()} == AWKWARD


def test_collect_skips_symlinks_and_never_follows_them(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "t", {"config.yaml": b"c", "prompts/real.md": b"r"})
    outside = write_tree(tmp_path / "outside", {"secret.md": b"s", "dir/inner.md": b"i"})
    (root / "prompts" / "link.md").symlink_to(outside / "secret.md")
    (root / "prompts" / "linkdir").symlink_to(outside / "dir", target_is_directory=True)
    collected = collect_cp_config_files(root, "t")
    assert collected.files == {"config.yaml": b"c", "prompts/real.md": b"r"}
    assert collected.skipped == {"prompts/link.md": "symlink", "prompts/linkdir/": "symlink"}


def test_collect_refuses_a_template_root_that_is_a_symlink(tmp_path: Path) -> None:
    real = write_tree(tmp_path / "real", {"config.yaml": b"c"})
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    with pytest.raises(TemplateError, match="template path must not be a symlink"):
        collect_cp_config_files(tmp_path / "link", "t")


def test_collect_skips_special_files(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "t", {"config.yaml": b"c"})
    (root / "prompts").mkdir()
    os.mkfifo(root / "prompts" / "pipe.md")
    collected = collect_cp_config_files(root, "t")
    assert collected.files == {"config.yaml": b"c"}
    assert collected.skipped == {"prompts/pipe.md": "special"}


def test_the_256_kib_cap_is_on_the_total_not_per_file(tmp_path: Path) -> None:
    at_cap = write_tree(
        tmp_path / "ok", {"config.yaml": b"c" * KIB, "prompts/big.md": b"p" * (255 * KIB)}
    )
    assert collect_cp_config_files(at_cap, "ok").total_bytes == 256 * KIB
    over = write_tree(
        tmp_path / "over",
        {
            "config.yaml": b"c" * KIB,
            "prompts/a.md": b"a" * (128 * KIB),
            "prompts/b.md": b"b" * (127 * KIB + 1),
        },
    )
    with pytest.raises(TemplateError) as caught:
        collect_cp_config_files(over, "over")
    message = str(caught.value)
    assert "config files exceed 262144 bytes" in message
    assert "'over'" in message and "prompts/b.md" in message


def test_files_that_do_not_travel_do_not_count_against_the_cap(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "t", {"config.yaml": b"c", "big.bin": b"x" * (300 * KIB)})
    assert collect_cp_config_files(root, "t").files == {"config.yaml": b"c"}


def test_fault_drop_prompts_keeps_config_yaml_only(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "t", dict(AWKWARD))
    collected = collect_cp_config_files(root, "t", frozenset({"drop-prompts"}))
    assert collected.files == {"config.yaml": AWKWARD["config.yaml"]}
    assert collected.skipped["prompts/bom.md"] == "prompts dropped (fault drop-prompts)"


def test_fault_no_allowlist_ships_every_template_file(tmp_path: Path) -> None:
    files = {**AWKWARD, "CLAUDE.md": b"template default\n", ".claude/settings.json": b"{}"}
    root = write_tree(tmp_path / "t", files)
    assert collect_cp_config_files(root, "t", frozenset({"no-allowlist"})).files == files
