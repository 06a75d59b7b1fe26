"""Make one directory tree a copy of another, like `rsync -a --delete` (stdlib only).

Used on both sides of a saas box's persistence: the fleet copies an ended box's trees into its
data volume's snapshot, and the next box restores them from there. Symlinks are copied as
symlinks and never followed (a box's symlink resolved on the host could point anywhere), other
special files (fifos, sockets) are skipped, and modes and mtimes travel with the files. An entry
that cannot be read is reported and skipped rather than failing the whole copy.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

Skip = Callable[[str], bool]
CHUNK = 1 << 20


class TreeReport:
    """What a mirror changed (a plain class: `dataclasses` costs the box ~15 ms to import)."""

    def __init__(self) -> None:
        self.copied = 0
        self.removed: list[str] = []
        self.skipped: list[str] = []
        self.errors: list[str] = []


def _never(_rel: str) -> bool:
    return False


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def remove_entry(path: Path) -> None:
    """Remove a file, a symlink (never what it points to) or a directory tree."""
    if path.is_symlink() or not path.is_dir():
        path.unlink()
    else:
        shutil.rmtree(path)


def is_real_dir(path: Path) -> bool:
    """A directory that is not a symlink (the path's last component only)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def mirror_tree(src: Path, dst: Path, skip: Skip = _never) -> TreeReport:
    """Make `dst` hold exactly what `src` holds, except paths `skip(relpath)` protects.

    A protected path is neither copied nor removed (rsync's `--exclude` with `--delete`).
    `dst` is created when missing, and replaced when it is a symlink or a file.
    """
    report = TreeReport()
    if os.path.lexists(dst) and not is_real_dir(dst):
        remove_entry(dst)
    dst.mkdir(parents=True, exist_ok=True)
    _sync_dir(src, dst, "", skip, report)
    _copy_meta(os.lstat(src), dst)
    return report


def _entries(directory: Path, report: TreeReport, rel: str) -> dict[str, os.stat_result]:
    try:
        with os.scandir(directory) as found:
            return {e.name: e.stat(follow_symlinks=False) for e in found}
    except OSError as exc:
        report.errors.append(f"{rel or '.'}: {exc}")
        return {}


def _sync_dir(src: Path, dst: Path, prefix: str, skip: Skip, report: TreeReport) -> None:
    src_entries = _entries(src, report, prefix)
    dst_entries = _entries(dst, report, prefix)
    for name, dst_stat in sorted(dst_entries.items()):
        rel = prefix + name
        if skip(rel):
            continue
        src_stat = src_entries.get(name)
        if src_stat is None or _kind(src_stat.st_mode) != _kind(dst_stat.st_mode):
            try:
                remove_entry(dst / name)
                report.removed.append(rel)
            except OSError as exc:
                report.errors.append(f"{rel}: {exc}")
    for name, src_stat in sorted(src_entries.items()):
        rel = prefix + name
        if skip(rel):
            continue
        try:
            _copy_entry(src / name, dst / name, src_stat, rel, skip, report)
        except OSError as exc:
            report.errors.append(f"{rel}: {exc}")


def _copy_entry(
    src: Path, dst: Path, src_stat: os.stat_result, rel: str, skip: Skip, report: TreeReport
) -> None:
    kind = _kind(src_stat.st_mode)
    if kind == "dir":
        if not is_real_dir(dst):
            dst.mkdir()
        os.chmod(dst, 0o700)  # writable while filling it; its own mode is set afterwards
        _sync_dir(src, dst, rel + "/", skip, report)
        _copy_meta(src_stat, dst)
    elif kind == "link":
        target = os.readlink(src)
        if dst.is_symlink() and os.readlink(dst) == target:
            return
        if os.path.lexists(dst):
            dst.unlink()
        os.symlink(target, dst)
        os.utime(dst, ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns), follow_symlinks=False)
        report.copied += 1
    elif kind == "file":
        _copy_file(src, dst, src_stat)
        report.copied += 1
    else:
        report.skipped.append(rel)


def _copy_file(src: Path, dst: Path, src_stat: os.stat_result) -> None:
    tmp = dst.parent / f".{dst.name}.mirror-{os.getpid()}"
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    reader = os.open(src, flags)
    try:
        with open(reader, "rb", closefd=False) as source, open(tmp, "wb") as target:
            while chunk := source.read(CHUNK):
                target.write(chunk)
        _copy_meta(src_stat, tmp)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    finally:
        os.close(reader)


def _copy_meta(src_stat: os.stat_result, dst: Path) -> None:
    os.chmod(dst, stat.S_IMODE(src_stat.st_mode))
    os.utime(dst, ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))
