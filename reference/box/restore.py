"""Boot step (a) of a saas box with `data_persistence: persist`: restore the previous box's files.

The fleet saved `/configs`, `/workspace` and `/root/.claude` of the box that ran before into the
data volume's `snapshot/` (see reference/fleet/snapshot.py); this box's fresh root gets them back
with `rsync -a --delete` semantics. Template-owned files (`config.yaml`, `prompts/**`) are not
restored by default: the incident showed restored boxes did not get template files back, so the
delivery that follows is what puts them there. `include_template_files` (the stack's
`REFERENCE_RESTORE_TEMPLATE_FILES=1`) restores them too, for the variant staging may turn out to
be; with a delivery after it, that only shows when nothing was staged (`secret_id: null`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from reference.box import layout
from reference.box.delivery import write_atomic
from reference.box.trees import TreeReport, is_real_dir, mirror_tree

_INSTANCE_ID = re.compile(r"i-[0-9a-zA-Z]{1,32}")


def template_path(rel: str) -> bool:
    """`config.yaml`, `prompts/` and everything under it (the restore's exclusions)."""
    return rel in ("config.yaml", "prompts") or rel.startswith("prompts/")


def snapshot_source(snapshot: Path) -> str:
    """The instance id the snapshot was taken from, or "" when it does not say."""
    try:
        text = (snapshot / layout.SNAPSHOT_SOURCE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if _INSTANCE_ID.fullmatch(text) else ""


def restore(
    snapshot: Path, targets: dict[str, Path], include_template_files: bool = False
) -> dict[str, TreeReport]:
    """Mirror each `snapshot/<sub>` onto `targets[sub]`; a sub the snapshot lacks is left alone."""
    reports = {}
    for sub, target in targets.items():
        source = snapshot / sub
        if not is_real_dir(source):
            continue
        if sub == "configs" and not include_template_files:
            reports[sub] = mirror_tree(source, target, template_path)
        else:
            reports[sub] = mirror_tree(source, target)
    return reports


def marker_line(source: str, now: float | None = None) -> bytes:
    """One line: ISO-8601 UTC time, then the snapshot's source instance id when known."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))
    return f"{stamp} {source}\n".encode() if source else f"{stamp}\n".encode()


def write_marker(configs: Path, source: str) -> None:
    """`/configs/.restore-completed`, written last, so it means every tree is back."""
    write_atomic(configs / layout.RESTORE_MARKER, marker_line(source))


def box_targets() -> dict[str, Path]:
    """Snapshot subdirectory → the box path it is restored to."""
    return {sub: Path(path) for sub, path in layout.SNAPSHOT_TREES.items()}
