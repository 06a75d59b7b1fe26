"""Snapshot (fleet side) and restore (box side) on plain directories: rsync -a --delete rules."""

from __future__ import annotations

import os
import re
from pathlib import Path

from reference.box.restore import marker_line, restore, snapshot_source, write_marker
from reference.box.trees import mirror_tree
from reference.fleet.snapshot import take_snapshot


def seed(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def tree(root: Path) -> dict[str, bytes | str]:
    """Files as bytes, symlinks as `-> target`, empty directories as `dir`."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            found[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else path.read_bytes()
        if not dirnames and not filenames and Path(dirpath) != root:
            found[str(Path(dirpath).relative_to(root))] = "dir"
    return found


def test_mirror_makes_the_copy_exact_and_keeps_modes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    seed(src, {"a.txt": b"a\r\n", "deep/1/2/3.bin": b"\x00\xff", "run.sh": b"#!/bin/sh\n"})
    (src / "run.sh").chmod(0o755)
    (src / "empty").mkdir()
    (src / "link").symlink_to("/etc/passwd")  # copied as a link, never followed
    seed(dst, {"stale.txt": b"x", "deep/old.txt": b"x", "a.txt": b"old"})
    (dst / "link").mkdir()  # a type change: replaced
    report = mirror_tree(src, dst)
    assert tree(dst) == tree(src)
    assert (dst / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (dst / "a.txt").stat().st_mtime_ns == (src / "a.txt").stat().st_mtime_ns
    assert sorted(report.removed) == ["deep/old.txt", "link", "stale.txt"]
    assert report.errors == []


def test_special_files_are_skipped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    seed(src, {"ok.txt": b"ok"})
    os.mkfifo(src / "fifo")
    report = mirror_tree(src, tmp_path / "dst")
    assert tree(tmp_path / "dst") == {"ok.txt": b"ok"}
    assert report.skipped == ["fifo"]


BOX_FILES = {
    "configs/config.yaml": b"name: old template\n",
    "configs/prompts/system.md": b"old prompt\n",
    "configs/CLAUDE.md": b"user\n",
    "configs/plugins/seo-all/SKILL.md": b"skill\n",
    "workspace/src/main.py": b"print('hi')\n",
    "root/.claude/projects/p.json": b"{}\n",
    "root/.bash_history": b"not saved\n",
    "tmp/scratch": b"not saved\n",
}


def test_snapshot_takes_the_three_trees_and_replaces_the_old_one(tmp_path: Path) -> None:
    root, volume = tmp_path / "root", tmp_path / "vol"
    volume.mkdir()
    seed(root, BOX_FILES)
    seed(volume, {"snapshot/configs/older.md": b"from an older box\n"})
    take_snapshot(root, volume, "i-0123456789abcdef0")
    snap = volume / "snapshot"
    assert tree(snap) == {
        "configs/config.yaml": b"name: old template\n",
        "configs/prompts/system.md": b"old prompt\n",
        "configs/CLAUDE.md": b"user\n",
        "configs/plugins/seo-all/SKILL.md": b"skill\n",
        "workspace/src/main.py": b"print('hi')\n",
        "claude-home/projects/p.json": b"{}\n",
        "source-instance": b"i-0123456789abcdef0\n",
    }
    assert sorted(os.listdir(volume)) == ["snapshot"]  # no temp or old dirs left
    assert snapshot_source(snap) == "i-0123456789abcdef0"


def test_snapshot_never_follows_a_boxs_symlinks(tmp_path: Path) -> None:
    root, volume, host = tmp_path / "root", tmp_path / "vol", tmp_path / "host"
    volume.mkdir()
    seed(host, {"secret": b"host only\n"})
    seed(root, {"workspace/x": b"x"})
    (root / "configs").symlink_to(host)  # the box replaced /configs with a link
    (root / "root").mkdir()
    (root / "root/.claude").symlink_to(host)
    (root / "workspace/leak").symlink_to(host / "secret")
    take_snapshot(root, volume, "i-1")
    assert tree(volume / "snapshot") == {
        "workspace/x": b"x",
        "workspace/leak": f"-> {host / 'secret'}",
        "source-instance": b"i-1\n",
    }


def test_restore_brings_back_all_but_template_files_with_delete(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    seed(
        snap,
        {
            "configs/config.yaml": b"old\n",
            "configs/prompts/system.md": b"old\n",
            "configs/CLAUDE.md": b"user\n",
            "workspace/w.txt": b"w\n",
            "claude-home/c.json": b"c\n",
        },
    )
    configs, workspace, claude = tmp_path / "configs", tmp_path / "workspace", tmp_path / "claude"
    seed(configs, {"config.yaml": b"fresh\n", "prompts/new.md": b"fresh\n", "junk.txt": b"j"})
    targets = {"configs": configs, "workspace": workspace, "claude-home": claude}
    restore(snap, targets)
    assert tree(configs) == {
        "config.yaml": b"fresh\n",
        "prompts/new.md": b"fresh\n",
        "CLAUDE.md": b"user\n",
    }
    assert tree(workspace) == {"w.txt": b"w\n"}
    assert tree(claude) == {"c.json": b"c\n"}
    restore(snap, targets, include_template_files=True)
    assert tree(configs) == {
        "config.yaml": b"old\n",
        "prompts/system.md": b"old\n",
        "CLAUDE.md": b"user\n",
    }


def test_restore_leaves_a_tree_the_snapshot_lacks_alone(tmp_path: Path) -> None:
    seed(tmp_path / "snap", {"configs/a": b"a"})
    seed(tmp_path / "workspace", {"keep": b"k"})
    restore(tmp_path / "snap", {"configs": tmp_path / "c", "workspace": tmp_path / "workspace"})
    assert tree(tmp_path / "workspace") == {"keep": b"k"}


def test_restore_marker_names_time_and_source(tmp_path: Path) -> None:
    assert marker_line("i-0abc", now=0) == b"1970-01-01T00:00:00Z i-0abc\n"
    assert marker_line("", now=0) == b"1970-01-01T00:00:00Z\n"
    write_marker(tmp_path, "i-0abc")
    written = (tmp_path / ".restore-completed").read_bytes()
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ i-0abc\n", written)
