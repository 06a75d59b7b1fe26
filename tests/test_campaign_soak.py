"""Flake-soak bookkeeping: the seeded plan, percentiles, counting failures, the time budget."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from e2e.campaign.soak import Epoch, percentile, plan, soak, write_report
from e2e.campaign.verdicts import Outcome
from e2e.harness.faults import BENIGN, FAULTS


def test_plan_is_seeded_complete_and_benign_only() -> None:
    epochs = plan(1234, 205, 10)
    assert epochs == plan(1234, 205, 10)
    assert epochs != plan(1235, 205, 10)
    assert sum(e.runs for e in epochs) == 205 and max(e.runs for e in epochs) == 10
    assert all(FAULTS[f].kind == "benign" for e in epochs for f in e.faults)
    assert {f for e in epochs for f in e.faults} == set(BENIGN)  # all get exercised
    assert all(list(e.faults) == [f for f in BENIGN if f in e.faults] for e in epochs)
    assert plan(1, 0, 10) == []
    with pytest.raises(ValueError):
        plan(1, 10, 0)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 95) == 95.0
    assert percentile([3.0], 95) == 3.0 and percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 10.0], 95) == 10.0


def _epochs(outcome_for: Callable[[int], Outcome]) -> Callable[..., list[Outcome]]:
    counter = [0]

    def run_epoch(epoch: Epoch, may_continue: Callable[[], bool]) -> list[Outcome]:
        out = []
        for _ in range(epoch.runs):
            if not may_continue():
                break
            counter[0] += 1
            out.append(outcome_for(counter[0]))
        return out

    return run_epoch


def test_soak_counts_every_failure_and_never_retries(tmp_path: Path) -> None:
    def outcome(n: int) -> Outcome:
        if n == 7:
            return Outcome("WaitTimeout", "timed out", "WaitTimeout: timed out", 9.0)
        return Outcome(seconds=1.0 + n / 100)

    result = soak(42, 25, 10, _epochs(outcome))
    document = write_report(result, tmp_path / "soak.json")
    assert document["runs"] == 25 and document["failures"] == 1 and document["seed"] == 42
    assert document["stacks"] == 3 and document["ok"] is False
    assert document["failed_runs"][0]["run"] == 7
    # 24 greens 1.01..1.25 (1.07 failed at 9.0 s): ranks 13 and 24 of 25, the outlier is max
    assert document["p50_gate_s"] == pytest.approx(1.14)
    assert document["p95_gate_s"] == pytest.approx(1.25) and document["max_gate_s"] == 9.0
    assert json.loads((tmp_path / "soak.json").read_text())["planned"] == 25


def test_time_budget_stops_early_and_says_so() -> None:
    now = [0.0]

    def outcome(n: int) -> Outcome:
        now[0] += 10.0
        return Outcome(seconds=10.0)

    result = soak(7, 50, 10, _epochs(outcome), max_seconds=95, clock=lambda: now[0])
    data = result.as_json()
    assert data["runs"] == 10 and data["planned"] == 50
    assert data["stopped_early"] and data["ok"] is False and data["failures"] == 0
