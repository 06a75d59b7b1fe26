"""Saving an ended saas box's files into its data volume, for the next box to restore.

When the fleet ends a box that had a data volume (instance terminated or stopped), it copies
the box root's `configs/`, `workspace/` and `root/.claude/` into `<volume>/snapshot/`
(`configs`, `workspace`, `claude-home`), plus a `source-instance` file naming the box. The copy
is built in a temp dir beside the old snapshot and renamed over it, so a snapshot is always
whole. The box is already dead when this runs, and nothing of it is followed: a symlink is
copied as a symlink, never resolved on the host.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from reference.box import layout
from reference.box.trees import TreeReport, is_real_dir, mirror_tree, remove_entry

log = logging.getLogger(__name__)
SNAPSHOT = "snapshot"


def _box_dir(root: Path, box_path: str) -> Path | None:
    """`root/<box_path>` if every component is a real directory (no symlink on the way)."""
    current = root
    for part in box_path.strip("/").split("/"):
        current = current / part
        if not is_real_dir(current):
            return None
    return current


def _discard(path: Path) -> None:
    if os.path.lexists(path):
        if is_real_dir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            remove_entry(path)


def take_snapshot(root: Path, volume_dir: Path, instance_id: str) -> dict[str, TreeReport]:
    """Replace `<volume_dir>/snapshot` with the box's trees; a tree the box lacks is left out."""
    tmp = volume_dir / f".{SNAPSHOT}-{instance_id}.tmp"
    old = volume_dir / f".{SNAPSHOT}-{instance_id}.old"
    for leftover in (tmp, old):
        _discard(leftover)
    tmp.mkdir()
    reports = {}
    for sub, box_path in layout.SNAPSHOT_TREES.items():
        source = _box_dir(root, box_path)
        if source is not None:
            reports[sub] = mirror_tree(source, tmp / sub)
    (tmp / layout.SNAPSHOT_SOURCE).write_text(instance_id + "\n", encoding="utf-8")
    final = volume_dir / SNAPSHOT
    if os.path.lexists(final):
        os.rename(final, old)
    os.rename(tmp, final)
    _discard(old)
    return reports


def save_snapshot(
    instance_id: str, root: Path, volume: Path | None, volume_id: str | None, restores: bool
) -> None:
    """Save the box's files, unless that would replace a snapshot it never restored."""
    assert volume is not None
    if not volume.is_dir():
        log.warning("box %s: volume dir %s is gone; no snapshot", instance_id, volume)
        return
    marker = root / "configs" / layout.RESTORE_MARKER
    if restores and not (marker.is_file() and not marker.is_symlink()):
        log.warning(
            "box %s: its restore never completed; the snapshot in %s is kept as it was",
            instance_id,
            volume_id,
        )
        return
    started = time.monotonic()
    try:
        reports = take_snapshot(root, volume, instance_id)
    except OSError:
        log.exception("box %s: snapshot into %s failed", instance_id, volume)
        return
    errors = [e for report in reports.values() for e in report.errors]
    log.info(
        "box %s: snapshot of %s into %s in %.3fs%s",
        instance_id,
        sorted(reports),
        volume_id,
        time.monotonic() - started,
        f"; unreadable: {errors[:10]}" if errors else "",
    )
