"""Resource names that carry the run id and the xdist worker, so runs never collide and a
sweeper can find leftovers by prefix."""

from __future__ import annotations

import itertools
import re

_counter = itertools.count(1)
PREFIX = "e2e"


def unique_name(run_id: str, worker_id: str, purpose: str) -> str:
    """`e2e-<run>-<worker>-<purpose>-<n>`: lowercase, [a-z0-9-], ≤ 63 chars."""
    purpose = re.sub(r"[^a-z0-9]+", "-", purpose.lower()).strip("-") or "x"
    head, tail = f"{PREFIX}-{run_id}-{worker_id}-", f"-{next(_counter)}"
    room = max(1, 63 - len(head) - len(tail))
    return head + (purpose[:room].rstrip("-") or "x") + tail


def sweep_prefix(run_id: str) -> str:
    """Everything a run created starts with this."""
    return f"{PREFIX}-{run_id}-"
