"""What a figure was measured on: the commit (short sha, `-dirty` when tracked files differ from
it), the machine (CPUs, 1-minute load when the measurement started, Python) and the UTC time.
Every benchmark and proof writes this into its JSON, so a table can say where each figure is
from and refuse to count a figure from another commit."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from e2e.campaign.machine import describe as describe_machine  # noqa: E402,F401
from e2e.campaign.machine import machine  # noqa: E402  (the one description of a machine)

DIRTY = "-dirty"


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)


def commit() -> str:
    """`abc1234`, `abc1234-dirty`, or `unknown` outside a git checkout."""
    head = _git("rev-parse", "--short=7", "HEAD")
    if head.returncode != 0:
        return "unknown"
    _git("update-index", "-q", "--refresh")  # a touched but unchanged file is not a change
    dirty = _git("diff-index", "--quiet", "HEAD", "--").returncode != 0
    return head.stdout.strip() + (DIRTY if dirty else "")


def is_clean(sha: str) -> bool:
    return bool(sha) and sha != "unknown" and not sha.endswith(DIRTY)


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def stamp() -> dict[str, Any]:
    """Call when the measurement starts (the load is read now)."""
    return {"generated_at": utc_now(), "commit": commit(), "machine": machine()}
