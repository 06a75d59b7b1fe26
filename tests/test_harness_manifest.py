"""Manifests over SSM: exact under the 24,000-char cap, paged, truncation always detected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from support.fake_ssm import FakeSsm

from e2e.harness import manifest as m
from e2e.harness.files import FileReadError, read_file, write_files
from e2e.harness.manifest import ManifestError, manifest_of_dir, parse_page, read_manifest
from e2e.harness.ssm import CommandResult, SsmHost


def box(tmp_path: Path) -> tuple[FakeSsm, SsmHost]:
    ssm = FakeSsm(tmp_path / "box")
    return ssm, SsmHost(ssm, ssm.instance_id, poll_s=0.001, command_timeout_s=30)


def test_manifest_matches_local_computation_including_odd_names(tmp_path: Path) -> None:
    _, host = box(tmp_path)
    configs = tmp_path / "box" / "configs"
    (configs / "prompts" / "deep" / "er").mkdir(parents=True)
    (configs / "config.yaml").write_text("name: x\n")
    (configs / "prompts" / "deep" / "er" / "café menu.md").write_text("ünïcode ☕\n")
    (configs / "prompts" / "tab\tname.md").write_bytes(b"\x00\x01binary")
    (configs / "prompts" / "new\nline.md").write_text("nl")
    (configs / "empty").write_bytes(b"")
    os.symlink("/etc/passwd", configs / "link")
    got = read_manifest(host, "/configs")
    want = manifest_of_dir(configs, "/configs")
    assert got.entries == want.entries
    assert got.entries["link"].type == "symlink"
    assert len(got) == 6


def test_missing_root_is_reported_not_confused_with_empty(tmp_path: Path) -> None:
    _, host = box(tmp_path)
    got = read_manifest(host, "/nowhere-on-the-box")
    assert not got.root_exists and len(got) == 0
    assert read_manifest(host, "/workspace").root_exists


def test_large_tree_is_paged_under_the_cap(tmp_path: Path) -> None:
    ssm, host = box(tmp_path)
    ws = tmp_path / "box" / "workspace"
    long_dir = ws / ("d" * 120)
    long_dir.mkdir(parents=True)
    for n in range(700):
        (long_dir / f"file-{n:04d}-{'x' * 60}.txt").write_text(f"{n}\n")
    got = read_manifest(host, "/workspace")
    assert got.entries == manifest_of_dir(ws, "/workspace").entries
    assert len(ssm.sent) > 3  # needed several pages
    outputs = [c["StandardOutputContent"] for c in ssm.commands.values()]
    assert max(len(o) for o in outputs) <= m.PAGE_BUDGET_CHARS + 100


def test_a_capped_page_can_never_pass_as_a_smaller_tree(tmp_path: Path) -> None:
    _, host = box(tmp_path)
    ws = tmp_path / "box" / "workspace"
    for n in range(400):
        (ws / f"file-{n:04d}-{'y' * 80}.txt").write_text(str(n))
    # a budget above the SSM cap: the box's output is cut at 24,000 chars, losing END
    with pytest.raises(ManifestError, match="no END line"):
        read_manifest(host, "/workspace", budget=200_000)


def test_parse_page_rejects_inconsistent_counts() -> None:
    line = "f 3 " + "a" * 64 + " r:x"
    with pytest.raises(ManifestError, match="inconsistent"):
        parse_page(f"{line}\nEND 2 2 2 done\n", 0)
    with pytest.raises(ManifestError, match="no END"):
        parse_page(f"{line}\n", 0)
    page = parse_page(f"{line}\nEND 1 6 9 more\n", 5)
    assert page.more and page.next_offset == 6 and page.entries[0].path == "x"


def test_tree_changing_between_pages_is_an_error(tmp_path: Path) -> None:
    _, host = box(tmp_path)
    ws = tmp_path / "box" / "workspace"
    for n in range(10):
        (ws / f"f{n}").write_text("x")
    real_run = host.run
    calls = {"n": 0}

    def run_and_mutate(script: str, **kw: Any) -> CommandResult:
        result = real_run(script, **kw)
        calls["n"] += 1
        (ws / f"new{calls['n']}").write_text("appeared")
        return result

    host.run = run_and_mutate  # type: ignore[method-assign]
    with pytest.raises(ManifestError, match="changed while being read"):
        read_manifest(host, "/workspace", page_entries=3)


def test_files_round_trip_in_chunks_and_odd_bytes(tmp_path: Path) -> None:
    ssm, host = box(tmp_path)
    big = bytes(range(256)) * 300  # 76,800 bytes, binary, several chunks each way
    files = {
        "a/b/c.bin": big,
        'quote\'s "file" $HOME.txt': b"$(rm -rf /) `x` 'y'\n",
        "empty": b"",
    }
    write_files(host, "/workspace", files)
    for rel, data in files.items():
        assert (tmp_path / "box" / "workspace" / rel).read_bytes() == data
        assert read_file(host, f"/workspace/{rel}") == data
    assert read_file(host, "/workspace/absent") is None
    outputs = [c["StandardOutputContent"] for c in ssm.commands.values()]
    assert max(len(o) for o in outputs) < 24_000
    assert max(len(s) for s in ssm.sent) < 20_000


def test_write_refuses_escaping_paths(tmp_path: Path) -> None:
    _, host = box(tmp_path)
    with pytest.raises(ValueError, match="outside"):
        write_files(host, "/workspace", {"../etc/passwd": b"x"})


def test_read_file_detects_a_truncated_chunk(tmp_path: Path) -> None:
    _, host = box(tmp_path)
    (tmp_path / "box" / "workspace" / "f").write_bytes(b"z" * 40_000)
    original = host.run

    def cut(script: str, **kw: Any) -> CommandResult:
        result = original(script, **kw)
        result.stdout = result.stdout[:1000]
        return result

    host.run = cut  # type: ignore[method-assign]
    with pytest.raises(FileReadError, match="truncated"):
        read_file(host, "/workspace/f")
