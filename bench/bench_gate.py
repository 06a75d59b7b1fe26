"""Benchmark of the gate (it measures, it does not judge).

The gate function (`e2e.harness.gate.run_gate`: import, create with persisted data, online, the
reconcile's restart, verify, seed user files, plugin install, a manual restart and
E2E_RESTARTS more, each verified) run N times against one embedded reference stack. Per run:
the wall time and where it went (first online, reconcile, each restart, the waits), whether
the install's automatic restart came or was dropped, so a slow gate says whether the stack or
the harness is slow. The whole suite with `-n 0` and `-n 2` is bench/bench_xdist.py.

    .venv/bin/python bench/bench_gate.py [--runs 10]

Writes reports/bench/gate.json (bar: median ≤ 3 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from provenance import stamp  # noqa: E402

from e2e.harness.cleanup import Cleanup  # noqa: E402
from e2e.harness.gate import GateContext, run_gate  # noqa: E402
from e2e.harness.settings import load_run_settings  # noqa: E402
from e2e.targets.session import StackHandle, connect  # noqa: E402

BAR_MEDIAN_S = 3.0


def gate_once(handle: StackHandle, n: int) -> dict[str, Any]:
    ctx = GateContext(handle.platform, handle.aws, handle.settings, Cleanup(), stack=handle)
    started = time.perf_counter()
    try:
        result = run_gate(ctx, purpose=f"bench{n}")
        wall = time.perf_counter() - started
    finally:
        ctx.cleanup.run()
    stats = result.workspace.stats
    return {
        "wall_s": round(wall, 3),
        "verifications": stats.verifications,
        "restarts_verified": stats.restarts_verified,
        "install_restarted": result.install_restarted,
        "timings_s": stats.timings,
        "notes": stats.notes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    meta = stamp()
    settings = load_run_settings()
    handle = connect(settings)
    runs: list[dict[str, Any]] = []
    try:
        for n in range(args.runs):
            run = gate_once(handle, n)
            runs.append(run)
            line = f"gate run {n + 1}/{args.runs}: {run['wall_s']:.2f} s  {run['timings_s']}"
            print(line, flush=True)
        leaks = handle.check_leaks()
        stack_start_s = handle.stack.start_s if handle.stack else None
    finally:
        handle.close()
    walls = [r["wall_s"] for r in runs]
    document = {
        **meta,
        "what": "run_gate N times against one embedded stack",
        "restarts": settings.restarts,
        "runs": runs,
        "median_s": round(statistics.median(walls), 3),
        "min_s": min(walls),
        "max_s": max(walls),
        "bar_median_s": BAR_MEDIAN_S,
        "install_restart_dropped": sum(not r["install_restarted"] for r in runs),
        "leaks_after": leaks,
        "stack_start_s": stack_start_s,
    }
    (args.out / "gate.json").write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"gate median {document['median_s']:.2f} s of {len(walls)} (bar ≤ {BAR_MEDIAN_S} s) "
        f"→ {args.out}/gate.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
