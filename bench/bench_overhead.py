"""Benchmark: what the harness itself costs (it measures, it does not judge).

On one embedded stack, alternately: the gate through the harness (`e2e.harness.gate.run_gate`)
and `straight_gate.StraightGate`, a minimal script making the same HTTP and SSM calls in the same
order with bare httpx + boto3. The order alternates per round so drift in the machine's load
hits both alike. Ratio = median harness gate / median straight gate; the calls each made are
counted by kind (httpx request hooks, botocore before-call events), so "the same calls" is shown,
not assumed.

    .venv/bin/python bench/bench_overhead.py [--runs 5]

Writes reports/bench/overhead.json (bar: ratio ≤ 1.15).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from straight_gate import StraightGate  # noqa: E402

from e2e.campaign.machine import machine  # noqa: E402
from e2e.harness.cleanup import Cleanup  # noqa: E402
from e2e.harness.gate import GateContext, run_gate  # noqa: E402
from e2e.harness.settings import load_run_settings  # noqa: E402
from e2e.targets.session import StackHandle, connect  # noqa: E402

BAR_RATIO = 1.15


class CallCounter:
    """Counts the harness's calls: platform requests by first path segment, AWS operations."""

    def __init__(self, handle: StackHandle) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()
        handle.platform._http.event_hooks["request"].append(
            lambda r: self._add(f"HTTP {r.method} {r.url.path.split('/')[1]}")
        )
        for client in (handle.aws.ec2, handle.aws.ssm):
            client.meta.events.register(
                "before-call", lambda model, **_: self._add(f"AWS {model.name}")
            )

    def _add(self, what: str) -> None:
        with self.lock:
            self.calls.append(what)

    def take(self) -> list[str]:
        with self.lock:
            taken, self.calls = self.calls, []
        return taken


def harness_once(
    handle: StackHandle, counter: CallCounter, n: int
) -> tuple[float, Counter[str], dict[str, float]]:
    cleanup = Cleanup()
    ctx = GateContext(handle.platform, handle.aws, handle.settings, cleanup)
    counter.take()
    started = time.perf_counter()
    try:
        result = run_gate(ctx, purpose=f"ovh{n}")
        wall = time.perf_counter() - started
        calls = Counter(counter.take())
    finally:
        cleanup.run()
    return wall, calls, dict(result.workspace.stats.timings)


def straight_once(info: dict[str, Any], restarts: int, tag: str) -> tuple[float, Counter[str]]:
    gate = StraightGate(info, restarts, tag)
    started = time.perf_counter()
    try:
        gate.run_gate()
        wall = time.perf_counter() - started
        calls = Counter(gate.calls)
    finally:
        gate.delete()
    return wall, calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="gates of each kind")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds first")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    settings = load_run_settings()
    handle = connect(settings)
    counter = CallCounter(handle)
    harness: list[float] = []
    straight: list[float] = []
    calls: dict[str, Counter[str]] = {}
    harness_timings: list[dict[str, float]] = []
    try:
        for n in range(args.warmup):  # a fresh stack's first gate pays moto's and boxes' warm-up
            harness_once(handle, counter, 100 + n)
            straight_once(handle.stack.info, settings.restarts, f"{settings.run_id}-w{n}")
            print(f"warm-up round {n + 1}/{args.warmup} done", flush=True)
        for n in range(args.runs):
            order = ("harness", "straight") if n % 2 == 0 else ("straight", "harness")
            for kind in order:
                if kind == "harness":
                    wall, counted, timings = harness_once(handle, counter, n)
                    harness.append(wall)
                    harness_timings.append(timings)
                else:
                    tag = f"{settings.run_id}-{n}"
                    wall, counted = straight_once(handle.stack.info, settings.restarts, tag)
                    straight.append(wall)
                calls.setdefault(kind, counted)
                print(f"round {n + 1}/{args.runs} {kind:<8} {wall:.2f} s", flush=True)
        leaks = handle.check_leaks()
    finally:
        handle.close()
    ratio = statistics.median(harness) / statistics.median(straight)
    document = {
        "what": "gate through the harness vs a straight-line httpx+boto3 script, one stack",
        "machine": machine(),
        "restarts": settings.restarts,
        "runs_each": args.runs,
        "warmup_rounds": args.warmup,
        "harness_s": [round(v, 3) for v in harness],
        "straight_s": [round(v, 3) for v in straight],
        "harness_median_s": round(statistics.median(harness), 3),
        "straight_median_s": round(statistics.median(straight), 3),
        "ratio": round(ratio, 3),
        "bar_ratio": BAR_RATIO,
        "within_bar": ratio <= BAR_RATIO,
        "harness_timings_s": harness_timings,
        "calls_first_counted_run": {k: dict(sorted(v.items())) for k, v in calls.items()},
        "calls_total_first_counted_run": {k: sum(v.values()) for k, v in calls.items()},
        "leaks_after": leaks,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "overhead.json").write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"harness {document['harness_median_s']} s vs straight {document['straight_median_s']} s"
        f" → ratio {document['ratio']} (bar ≤ {BAR_RATIO}) → {args.out}/overhead.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
