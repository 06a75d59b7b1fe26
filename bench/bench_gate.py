"""Benchmark of the harness itself (not a test: it measures, it does not judge).

- gate: the gate function (`e2e.harness.gate.run_gate`, E2E_RESTARTS restarts) run N times
  against one embedded reference stack; per run the wall time and where it went (first online,
  reconcile, restarts, verifications), so a slow gate says whether the stack or the harness is slow;
- suite (`--suite`): the whole e2e suite as `make e2e` runs it, with `-n 0` and `-n 2`, wall time
  of each and the speed-up.

    .venv/bin/python bench/bench_gate.py [--runs 5] [--suite]

Writes reports/bench/gate.json (and reports/bench/e2e-suite.json). Budgets (from the issue):
gate median ≤ 3 s, suite ≤ 60 s on 2 cores, -n 2 at least 1.6 x faster than -n 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from e2e.harness.cleanup import Cleanup  # noqa: E402
from e2e.harness.gate import GateContext, run_gate  # noqa: E402
from e2e.harness.session import connect  # noqa: E402
from e2e.harness.settings import load_run_settings  # noqa: E402

GATE_BUDGET_S = 3.0
SUITE_BUDGET_S = 60.0
SPEEDUP_BUDGET = 1.6


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_1m_at_start": round(load[0], 2),
    }


def bench_gate(runs: int) -> dict[str, Any]:
    settings = load_run_settings(env={**os.environ, "E2E_RUN_ID": os.environ.get("E2E_RUN_ID", "")})
    handle = connect(settings)
    samples: list[dict[str, Any]] = []
    try:
        for n in range(runs):
            cleanup = Cleanup()
            ctx = GateContext(handle.platform, handle.aws, settings, cleanup)
            started = time.perf_counter()
            try:
                result = run_gate(ctx, purpose=f"bench{n}")
                wall = time.perf_counter() - started
            finally:
                cleanup.run()
            stats = result.workspace.stats
            samples.append(
                {
                    "wall_s": round(wall, 3),
                    "verifications": stats.verifications,
                    "restarts_verified": stats.restarts_verified,
                    "timings_s": stats.timings,
                }
            )
            print(f"gate run {n + 1}/{runs}: {wall:.2f} s  {stats.timings}", flush=True)
        leaks = handle.check_leaks()
    finally:
        handle.close()
    walls = [s["wall_s"] for s in samples]
    median = statistics.median(walls)
    return {
        "what": "run_gate against one embedded stack",
        "restarts": settings.restarts,
        "runs": samples,
        "median_s": round(median, 3),
        "min_s": min(walls),
        "max_s": max(walls),
        "budget_median_s": GATE_BUDGET_S,
        "within_budget": median <= GATE_BUDGET_S,
        "leaks_after": leaks,
        "stack_start_s": round(handle.stack.start_s, 3) if handle.stack else None,
    }


def bench_suite() -> dict[str, Any]:
    walls: dict[str, float] = {}
    outcomes: dict[str, str] = {}
    for workers in ("0", "2"):
        cmd = [sys.executable, "-m", "pytest", "e2e", "-q", "-n", workers, "-p", "no:cacheprovider"]
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        walls[workers] = round(time.perf_counter() - started, 2)
        tail = done.stdout.strip().splitlines()[-1:] or ["(no output)"]
        outcomes[workers] = tail[0]
        print(f"e2e suite -n {workers}: {walls[workers]:.1f} s  {tail[0]}", flush=True)
    speedup = walls["0"] / walls["2"] if walls["2"] else 0.0
    return {
        "what": "pytest e2e with -n 0 and -n 2",
        "wall_s": walls,
        "outcome": outcomes,
        "speedup": round(speedup, 2),
        "budget_wall_s": SUITE_BUDGET_S,
        "budget_speedup": SPEEDUP_BUDGET,
        "within_budget": walls["2"] <= SUITE_BUDGET_S and speedup >= SPEEDUP_BUDGET,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--suite", action="store_true", help="also time the whole e2e suite")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    gate = {"machine": machine(), **bench_gate(args.runs)}
    (args.out / "gate.json").write_text(json.dumps(gate, indent=2) + "\n")
    print(f"gate median {gate['median_s']:.2f} s (budget {GATE_BUDGET_S} s) → {args.out}/gate.json")
    if args.suite:
        suite = {"machine": machine(), **bench_suite()}
        (args.out / "e2e-suite.json").write_text(json.dumps(suite, indent=2) + "\n")
        print(f"suite {suite['wall_s']} speed-up {suite['speedup']} → {args.out}/e2e-suite.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
