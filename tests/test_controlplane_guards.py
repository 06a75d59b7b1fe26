"""The CP's template guards (DESIGN §5), one by one; each is shown to refuse or skip its case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.controlplane.errors import ProvisionRefused
from reference.controlplane.templates import (
    MAX_FILE_BYTES,
    MAX_SECRET_BYTES,
    collect_cp_config_files,
    is_cp_template_asset_path,
    resolve_workspace_template_path,
    validate_config_files,
)
from reference.platform.template_import import ImportRefused, normalise_relpath
from reference.platform.testing import MINI_TEMPLATE, write_template


@pytest.mark.parametrize(
    ("path", "owned"),
    [
        ("config.yaml", True),
        ("prompts/system.md", True),
        ("prompts/deep/nested.md", True),
        ("CLAUDE.md", False),
        ("MEMORY.md", False),
        (".claude/settings.json", False),
        ("prompts", False),
        ("prompts/", False),
        ("config.yml", False),
        ("sub/config.yaml", False),
        ("prompts/../CLAUDE.md", False),
        ("/config.yaml", False),
        ("./config.yaml", False),
        ("prompts//a.md", False),
        ("prompts\\a.md", False),
        ("Config.yaml", False),
    ],
)
def test_only_config_yaml_and_prompts_are_template_owned(path: str, owned: bool) -> None:
    assert is_cp_template_asset_path(path) is owned


@pytest.fixture
def roots(tmp_path: Path) -> list[Path]:
    root = tmp_path / "root"
    write_template(root, "mini", MINI_TEMPLATE)
    return [tmp_path / "empty-root", root]


def test_resolve_finds_template_in_a_later_root(roots: list[Path]) -> None:
    assert resolve_workspace_template_path("mini", roots) == (roots[1] / "mini").resolve()


def test_resolve_first_root_wins(roots: list[Path]) -> None:
    write_template(roots[0], "mini", {"config.yaml": "name: first\n"})
    assert resolve_workspace_template_path("mini", roots) == (roots[0] / "mini").resolve()


@pytest.mark.parametrize(
    ("name", "status", "fragment"),
    [
        ("", 422, "empty template path"),
        ("/etc", 422, "absolute"),
        ("../root/mini", 422, "traversal"),
        ("mini/..", 422, "traversal"),
        ("a/./b", 422, "traversal"),
        ("nope", 404, "not found"),
    ],
)
def test_resolve_refuses(roots: list[Path], name: str, status: int, fragment: str) -> None:
    with pytest.raises(ProvisionRefused) as caught:
        resolve_workspace_template_path(name, roots)
    assert caught.value.status == status
    assert fragment in caught.value.message


def test_resolve_refuses_symlink_out_of_root(roots: list[Path], tmp_path: Path) -> None:
    outside = write_template(tmp_path / "outside", "evil", {"config.yaml": "x: 1\n"})
    os.symlink(outside, roots[1] / "evil")
    with pytest.raises(ProvisionRefused) as caught:
        resolve_workspace_template_path("evil", roots)
    assert "outside the template root" in caught.value.message


def test_resolve_follows_symlink_inside_root(roots: list[Path]) -> None:
    os.symlink(roots[1] / "mini", roots[1] / "alias")
    assert resolve_workspace_template_path("alias", roots) == (roots[1] / "mini").resolve()


def test_resolve_refuses_symlinked_root_parent_escape(roots: list[Path], tmp_path: Path) -> None:
    write_template(tmp_path / "outside", "deep/t", {"config.yaml": "x: 1\n"})
    os.symlink(tmp_path / "outside" / "deep", roots[1] / "deep")
    with pytest.raises(ProvisionRefused, match="outside the template root"):
        resolve_workspace_template_path("deep/t", roots)


def test_resolve_refuses_a_file(roots: list[Path]) -> None:
    (roots[1] / "flat").write_text("x")
    with pytest.raises(ProvisionRefused, match="not a directory"):
        resolve_workspace_template_path("flat", roots)


def test_collect_keeps_only_template_owned(roots: list[Path]) -> None:
    got = collect_cp_config_files(roots[1] / "mini", "mini")
    assert sorted(got.files) == ["config.yaml", "prompts/deep/nested.md", "prompts/system.md"]
    assert got.files["prompts/system.md"] == MINI_TEMPLATE["prompts/system.md"]
    assert got.skipped["CLAUDE.md"] == "not template-owned"
    assert got.skipped[".claude/settings.json"] == "not template-owned"


def test_collect_skips_symlinks_in_and_out_of_the_root(roots: list[Path], tmp_path: Path) -> None:
    base = roots[1] / "mini"
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret")
    os.symlink(secret, base / "prompts" / "leak.md")  # out of the root
    os.symlink(base / "prompts" / "system.md", base / "prompts" / "alias.md")  # in the root
    os.symlink(tmp_path, base / "prompts" / "linkdir")  # directory symlink
    got = collect_cp_config_files(base, "mini")
    assert "prompts/leak.md" not in got.files
    assert "prompts/alias.md" not in got.files
    assert not any(p.startswith("prompts/linkdir") for p in got.files)
    assert got.skipped["prompts/leak.md"] == "symlink"
    assert got.skipped["prompts/linkdir/"] == "symlinked directory"


def test_collect_skips_special_files(roots: list[Path]) -> None:
    os.mkfifo(roots[1] / "mini" / "prompts" / "pipe.md")
    got = collect_cp_config_files(roots[1] / "mini", "mini")
    assert got.skipped["prompts/pipe.md"] == "not a regular file"


def test_collect_refuses_file_over_cap_naming_it(roots: list[Path]) -> None:
    big = roots[1] / "mini" / "prompts" / "big.md"
    big.write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ProvisionRefused) as caught:
        collect_cp_config_files(roots[1] / "mini", "mini")
    err = caught.value
    assert (err.status, err.template, err.file, err.size) == (
        413,
        "mini",
        "prompts/big.md",
        MAX_FILE_BYTES + 1,
    )
    assert "'prompts/big.md'" in err.message and str(MAX_FILE_BYTES + 1) in err.message


def test_collect_accepts_file_at_cap_but_refuses_total(roots: list[Path]) -> None:
    base = roots[1] / "mini"
    (base / "prompts" / "a.md").write_bytes(b"a" * (MAX_SECRET_BYTES // 2))
    (base / "prompts" / "b.md").write_bytes(b"b" * (MAX_SECRET_BYTES // 2))
    with pytest.raises(ProvisionRefused) as caught:
        collect_cp_config_files(base, "mini")
    err = caught.value
    assert err.status == 413 and err.template == "mini"
    assert "exceed the 65536-byte Secrets Manager limit" in err.message
    assert "prompts/a.md (32768 bytes)" in err.message


def test_collect_total_just_under_cap_passes(roots: list[Path]) -> None:
    base = roots[1] / "mini"
    (base / "prompts" / "a.md").write_bytes(b"a" * (MAX_SECRET_BYTES - 1000))
    got = collect_cp_config_files(base, "mini")
    assert len(got.files["prompts/a.md"]) == MAX_SECRET_BYTES - 1000


def test_collect_refuses_non_utf8_naming_file_and_offset(roots: list[Path]) -> None:
    (roots[1] / "mini" / "prompts" / "latin1.md").write_bytes(b"caf\xe9\n")
    with pytest.raises(ProvisionRefused) as caught:
        collect_cp_config_files(roots[1] / "mini", "mini")
    assert caught.value.file == "prompts/latin1.md"
    assert "not UTF-8" in caught.value.message and "offset 3" in caught.value.message


def test_collect_ignores_non_utf8_outside_the_allowlist(roots: list[Path]) -> None:
    (roots[1] / "mini" / "logo.png").write_bytes(b"\x89PNG\xff")
    assert "logo.png" not in collect_cp_config_files(roots[1] / "mini", "mini").files


def test_collect_without_allowlist_takes_everything(roots: list[Path]) -> None:
    got = collect_cp_config_files(roots[1] / "mini", "mini", allowlist=False)
    assert "CLAUDE.md" in got.files and ".claude/settings.json" in got.files


def test_collect_without_prompts(roots: list[Path]) -> None:
    got = collect_cp_config_files(roots[1] / "mini", "mini", include_prompts=False)
    assert sorted(got.files) == ["config.yaml"]


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({"CLAUDE.md": "x"}, "not template-owned"),
        ({"../config.yaml": "x"}, "absolute or traverses"),
        ({"/config.yaml": "x"}, "absolute or traverses"),
        ({"prompts/a.md": "\ud800"}, "not valid UTF-8"),
        ({"prompts/a.md": "a" * (MAX_FILE_BYTES + 1)}, "per-file limit"),
        ({f"prompts/{i}.md": "x" for i in range(201)}, "exceed the limit of 200"),
    ],
)
def test_inline_config_files_are_guarded(files: dict[str, str], fragment: str) -> None:
    with pytest.raises(ProvisionRefused, match=fragment):
        validate_config_files("t", files)


path_parts = st.sampled_from(["a", "prompts", "config.yaml", "..", ".", "", "b.md", "/", "\\"])


@given(st.lists(path_parts, min_size=1, max_size=6).map("/".join))
def test_owned_paths_are_always_safe_and_inside_the_allowlist(path: str) -> None:
    if is_cp_template_asset_path(path):
        parts = path.split("/")
        assert ".." not in parts and "" not in parts and "." not in parts
        assert not path.startswith("/") and "\\" not in path
        assert path == "config.yaml" or (parts[0] == "prompts" and len(parts) > 1)


@given(st.lists(path_parts, min_size=1, max_size=6).map("/".join))
def test_import_normalisation_never_yields_a_traversing_path(path: str) -> None:
    try:
        clean = normalise_relpath("t", path)
    except ImportRefused:
        return
    assert ".." not in clean.split("/") and not clean.startswith("/")
    assert clean and "//" not in clean and "\\" not in clean
