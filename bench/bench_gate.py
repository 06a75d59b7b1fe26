"""Benchmark of the harness itself (not a test: it measures, it does not judge).

- gate: the gate function (`e2e.harness.gate.run_gate`, E2E_RESTARTS restarts) run N times
  against one embedded reference stack; per run the wall time and where it went (first online,
  reconcile, restarts, verifications), so a slow gate says whether the stack or the harness is slow.
  The whole suite with `-n 0` and `-n 2` is bench/bench_xdist.py.

    .venv/bin/python bench/bench_gate.py [--runs 5]

Writes reports/bench/gate.json. Budget (from the issue): gate median ≤ 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from e2e.harness.cleanup import Cleanup  # noqa: E402
from e2e.harness.gate import GateContext, run_gate  # noqa: E402
from e2e.harness.settings import load_run_settings  # noqa: E402
from e2e.targets.session import connect  # noqa: E402

GATE_BUDGET_S = 3.0


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    gate = {"machine": machine(), **bench_gate(args.runs)}
    (args.out / "gate.json").write_text(json.dumps(gate, indent=2) + "\n")
    print(f"gate median {gate['median_s']:.2f} s (budget {GATE_BUDGET_S} s) → {args.out}/gate.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
