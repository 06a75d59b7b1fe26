"""Benchmark: what the harness itself costs (it measures, it does not judge).

On one embedded stack, alternately: the gate through the harness (`e2e.harness.gate.run_gate`)
and `straight_gate.StraightGate`, the same HTTP and AWS calls in the same order with bare
httpx + boto3. The order alternates per round so drift in the machine's load hits both alike.
Ratio = median harness gate / median straight gate. Both sides' calls are counted the same way
(bench/calls.py), so "the same calls" is shown, not assumed: the calls that act (creates,
triggers, commands sent) must match one for one and in order; the reads a wait repeats
(workspace, events, DescribeInstances, PingStatus, GetCommandInvocation) differ only by how
many polls each wait took.

    .venv/bin/python bench/bench_overhead.py [--runs 5]

Writes reports/bench/overhead.json (bar: ratio ≤ 1.15).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from calls import Calls, is_read  # noqa: E402
from provenance import stamp  # noqa: E402
from straight_gate import StraightGate  # noqa: E402

from e2e.harness.cleanup import Cleanup  # noqa: E402
from e2e.harness.gate import GateContext, run_gate  # noqa: E402
from e2e.harness.settings import load_run_settings  # noqa: E402
from e2e.targets.session import StackHandle, connect  # noqa: E402

BAR_RATIO = 1.15


class Sample:
    def __init__(self, wall: float, counts: Counter[str], order: list[str], restarted: bool):
        self.wall, self.counts, self.restarted = wall, counts, restarted
        self.actions = [c for c in order if not is_read(c)]


def harness_once(handle: StackHandle, calls: Calls, n: int) -> Sample:
    ctx = GateContext(handle.platform, handle.aws, handle.settings, Cleanup(), stack=handle)
    calls.take()
    started = time.perf_counter()
    try:
        result = run_gate(ctx, purpose=f"ovh{n}")
        wall = time.perf_counter() - started
        counts, order = calls.take()
    finally:
        ctx.cleanup.run()
    return Sample(wall, counts, order, result.install_restarted)


def straight_once(handle: StackHandle, tag: str) -> Sample:
    settings = handle.settings
    gate = StraightGate(handle.target, settings.profile, settings.restarts, tag)
    started = time.perf_counter()
    try:
        gate.run_gate(settings.template_dir, settings.plugin_name)
        wall = time.perf_counter() - started
        counts, order = gate.calls.take()
    finally:
        gate.delete()
    return Sample(wall, counts, order, gate.install_restarted)


def compare(harness: list[Sample], straight: list[Sample]) -> dict[str, Any]:
    """Per call, the median count per gate on each side; per round, whether the acting calls
    were the same in the same order (a dropped install restart on one side only explains a
    difference: the plugin is then checked on the current box instead)."""
    keys = sorted({k for s in harness + straight for k in s.counts})
    per_call = {
        k: {
            "harness": statistics.median(s.counts.get(k, 0) for s in harness),
            "straight": statistics.median(s.counts.get(k, 0) for s in straight),
            "polled": is_read(k),
        }
        for k in keys
    }
    rounds = [
        {
            "actions_equal": h.actions == s.actions,
            "install_restarted": {"harness": h.restarted, "straight": s.restarted},
        }
        for h, s in zip(harness, straight, strict=True)
    ]
    return {
        "per_call_median": per_call,
        "rounds": rounds,
        "actions_in_order": {"harness": harness[0].actions, "straight": straight[0].actions},
    }


def print_calls(comparison: dict[str, Any]) -> None:
    print(f"{'call (median per gate)':<48} {'harness':>8} {'straight':>8}")
    for key, row in comparison["per_call_median"].items():
        mark = "  (polled)" if row["polled"] else ""
        print(f"{key:<48} {row['harness']:>8} {row['straight']:>8}{mark}")
    for n, r in enumerate(comparison["rounds"], 1):
        same = "equal" if r["actions_equal"] else "DIFFER"
        print(f"round {n}: acting calls {same} (install restarted: {r['install_restarted']})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="gates of each kind")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds first")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    meta = stamp()
    settings = load_run_settings()
    handle = connect(settings)
    calls = Calls(keep_order=True)
    calls.watch_http(handle.platform._http)
    aws = handle.aws
    calls.watch_aws(aws.ec2, aws.ssm, aws.ssm_poll, aws.ssm_send, aws.secretsmanager)
    samples: dict[str, list[Sample]] = {"harness": [], "straight": []}
    try:
        for n in range(args.warmup):  # a fresh stack's first gate pays moto's and boxes' warm-up
            harness_once(handle, calls, 100 + n)
            straight_once(handle, f"{settings.run_id}-w{n}")
            print(f"warm-up round {n + 1}/{args.warmup} done", flush=True)
        for n in range(args.runs):
            for kind in ("harness", "straight") if n % 2 == 0 else ("straight", "harness"):
                if kind == "harness":
                    sample = harness_once(handle, calls, n)
                else:
                    sample = straight_once(handle, f"{settings.run_id}-{n}")
                samples[kind].append(sample)
                print(f"round {n + 1}/{args.runs} {kind:<8} {sample.wall:.2f} s", flush=True)
        leaks = handle.check_leaks()
    finally:
        handle.close()
    walls = {k: [s.wall for s in v] for k, v in samples.items()}
    medians = {k: statistics.median(v) for k, v in walls.items()}
    comparison = compare(samples["harness"], samples["straight"])
    document = {
        **meta,
        "what": "gate through the harness vs a straight-line httpx+boto3 script, one stack",
        "restarts": settings.restarts,
        "runs_each": args.runs,
        "warmup_rounds": args.warmup,
        "harness_s": [round(v, 3) for v in walls["harness"]],
        "straight_s": [round(v, 3) for v in walls["straight"]],
        "harness_median_s": round(medians["harness"], 3),
        "straight_median_s": round(medians["straight"], 3),
        "ratio": round(medians["harness"] / medians["straight"], 3),
        "bar_ratio": BAR_RATIO,
        "calls": comparison,
        "leaks_after": leaks,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "overhead.json").write_text(json.dumps(document, indent=2) + "\n")
    print_calls(comparison)
    print(
        f"harness {document['harness_median_s']} s vs straight {document['straight_median_s']} s"
        f" → ratio {document['ratio']} (bar ≤ {BAR_RATIO}) → {args.out}/overhead.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
