"""Keeping `-n 2` busy: longest tests first (so no worker is left alone with a long tail),
the next test's private stack started while the current one runs, and xdist workers that end
without interpreter teardown once their last report is sent (the controller waited ~0.7 s)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator

import pytest

from e2e.plugins.shared import next_item

# Substrings of node ids, heaviest first (from `-n 0` durations); the rest keep their order,
# the refusals (a fraction of a second each) last.
LONGEST_FIRST = (
    "benign",
    "test_gate.py",
    "crash_recovery",
    "fires_late",
    "docker_backend",
    "fault_proofs",
    "automatic_restarts",
    "two_manual",
    "symlinks",
    "no_reconcile",
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    next_item[0] = nextitem
    yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(os.path.dirname(__file__))
    slots = [i for i, item in enumerate(items) if str(item.path).startswith(here)]

    def weight(item: pytest.Item) -> int:
        hits = [n for n, key in enumerate(LONGEST_FIRST) if key in item.nodeid]
        return hits[0] if hits else len(LONGEST_FIRST)

    ordered = sorted((items[i] for i in slots), key=weight)
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        end_worker_now()


def end_worker_now() -> None:
    """An xdist worker has sent its last report (the controller decides the outcome) and its
    fixtures have stopped every stack: what is left is tearing down its interpreter (boto3's
    service models, ...), ~0.7 s the controller waits for before it can end the run."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)
