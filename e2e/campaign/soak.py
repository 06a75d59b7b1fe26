"""The flake soak: the gate N times on the embedded stack with benign faults on at random.

Fault switches are fixed when a stack starts, so the soak runs in epochs: each epoch draws a
random subset of the benign faults (seeded, so a failing soak can be replayed), starts a stack
with it and runs up to `per_stack` gates on it. Zero failures is the bar; a failure is recorded
with its diagnosis and the soak goes on counting — nothing is ever retried.

    python bench/soak.py --runs 200 [--seed S] [--per-stack 10] [--max-minutes M]
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.campaign.machine import machine
from e2e.campaign.verdicts import Case, Outcome, judge
from e2e.harness.faults import BENIGN


@dataclass(frozen=True)
class Epoch:
    faults: tuple[str, ...]
    runs: int


def plan(
    seed: int, runs: int, per_stack: int, faults: Sequence[str] = tuple(BENIGN)
) -> list[Epoch]:
    """Epochs of at most `per_stack` runs, each with every benign fault on with p = 1/2."""
    if runs < 0 or per_stack < 1:
        raise ValueError(f"runs must be ≥ 0 and per_stack ≥ 1, got {runs}, {per_stack}")
    rng = random.Random(seed)
    epochs: list[Epoch] = []
    left = runs
    while left > 0:
        chosen = tuple(f for f in faults if rng.random() < 0.5)
        epochs.append(Epoch(chosen, min(per_stack, left)))
        left -= epochs[-1].runs
    return epochs


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class RunRecord:
    index: int
    faults: tuple[str, ...]
    outcome: Outcome
    verdict: str

    def as_json(self) -> dict[str, Any]:
        return {
            "run": self.index,
            "faults": list(self.faults),
            "verdict": self.verdict,
            "seconds": self.outcome.seconds,
            "diagnosis": self.outcome.diagnosis,
            "leaks": list(self.outcome.leaks),
            "message": self.outcome.message,
        }


@dataclass
class SoakResult:
    seed: int
    planned: int
    records: list[RunRecord] = field(default_factory=list)
    stacks: int = 0
    stopped_early: str = ""

    @property
    def failures(self) -> list[RunRecord]:
        return [r for r in self.records if r.verdict != "green"]

    def as_json(self) -> dict[str, Any]:
        seconds = [r.outcome.seconds for r in self.records]
        by_faults: dict[str, int] = {}
        for r in self.records:
            key = ",".join(r.faults) or "(none)"
            by_faults[key] = by_faults.get(key, 0) + 1
        return {
            "runs": len(self.records),
            "planned": self.planned,
            "failures": len(self.failures),
            "seed": self.seed,
            "p50_gate_s": percentile(seconds, 50),
            "p95_gate_s": percentile(seconds, 95),
            "max_gate_s": max(seconds) if seconds else None,
            "stacks": self.stacks,
            "stopped_early": self.stopped_early or None,
            "runs_by_faults": dict(sorted(by_faults.items())),
            "failed_runs": [r.as_json() for r in self.failures],
            "ok": not self.failures and len(self.records) == self.planned,
        }


# (faults, runs) → one outcome per run, in order, as each ends (a generator prints progress
# live); lets the tests drive the loop without stacks
RunEpoch = Callable[[Epoch, Callable[[], bool]], Iterable[Outcome]]


def soak(
    seed: int,
    runs: int,
    per_stack: int,
    run_epoch: RunEpoch,
    *,
    max_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SoakResult:
    """Run the plan; `max_seconds` stops starting gates once spent (reported, never hidden)."""
    result = SoakResult(seed=seed, planned=runs)
    started = clock()

    def may_continue() -> bool:
        return max_seconds is None or clock() - started < max_seconds

    for epoch in plan(seed, runs, per_stack):
        if not may_continue():
            result.stopped_early = f"time budget of {max_seconds:.0f}s spent"
            break
        result.stacks += 1
        case = Case(epoch.faults, "benign")
        ran = 0
        for outcome in run_epoch(epoch, may_continue):
            ran += 1
            record = RunRecord(len(result.records) + 1, epoch.faults, outcome, judge(case, outcome))
            result.records.append(record)
            print(
                f"soak {record.index}/{runs} [{case.name}] {record.verdict} "
                f"{outcome.seconds:.2f}s {outcome.diagnosis[:120]}",
                flush=True,
            )
        if ran < epoch.runs:
            result.stopped_early = f"time budget of {max_seconds:.0f}s spent"
            break
    return result


def write_report(result: SoakResult, path: Path) -> dict[str, Any]:
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **result.as_json(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return document
