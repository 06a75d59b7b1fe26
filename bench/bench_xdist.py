"""Benchmark: xdist scaling of the e2e suite, `-n 0` vs `-n 2` (it measures, it does not judge).

`make e2e` runs pytest twice: the main pass (the whole suite on the seo-agent template) and an
edge pass (everything but the fault proofs on the edge-case template). This measures the main
pass's pytest run, as before: `--repeat` times per worker count, alternating (so a noisy
minute on a shared machine hits both), keeping each run's output and JUnit file so a failing
test in any run is named, not lost. The speed-up compares the median walls. Writes
reports/bench/xdist.json (bars, 2 cores: `-n 2` ≤ 60 s and speed-up ≥ 1.6) and
xdist-n<N>-<run>.{log,xml}.

    .venv/bin/python bench/bench_xdist.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from provenance import stamp  # noqa: E402

from reference.procs import die_with_parent  # noqa: E402

BAR_SPEEDUP = 1.6
BAR_WALL_N2_S = 60.0
# the main pass as `make e2e` runs it (Makefile E2E_PYTEST_FLAGS), its Allure output aside:
# without the unit suite's hypothesis and schemathesis plugins, whose import costs each pytest
# process ~3.5 s before the first test
E2E_PYTEST = [
    sys.executable,
    "-m",
    "pytest",
    "e2e",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:hypothesispytest",
    "-p",
    "no:schemathesis",
]


def failed_tests(junit: Path) -> list[str]:
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError) as exc:
        return [f"(no JUnit: {exc})"]
    return [
        f"{case.get('classname')}::{case.get('name')}"
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]


def run_suite(workers: str, out: Path, run: int) -> dict[str, Any]:
    junit = out / f"xdist-n{workers}-{run}.xml"
    cmd = [*E2E_PYTEST, "-q", "-n", workers, "--junitxml", str(junit)]
    started = time.perf_counter()
    # SIGTERM (pytest's orderly stop) if this benchmark ends first: its stacks go with it
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, preexec_fn=die_with_parent)
    wall = time.perf_counter() - started
    (out / f"xdist-n{workers}-{run}.log").write_text(done.stdout + done.stderr)
    tail = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"e2e suite -n {workers}: {wall:.1f} s  {tail}", flush=True)
    return {
        "wall_s": round(wall, 2),
        "outcome": tail,
        "exit": done.returncode,
        "failed": failed_tests(junit),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    parser.add_argument("--repeat", type=int, default=3, help="runs per worker count")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    meta = stamp()
    runs: dict[str, list[dict[str, Any]]] = {"0": [], "2": []}
    for run in range(args.repeat):
        for workers in runs:
            runs[workers].append(run_suite(workers, args.out, run))
    walls = {w: statistics.median(r["wall_s"] for r in rs) for w, rs in runs.items()}
    speedup = walls["0"] / walls["2"]
    document = {
        **meta,
        "what": (
            f"the main pass of make e2e (pytest e2e) with -n 0 and -n 2, {args.repeat} "
            "alternating runs each (medians); the edge-template pass is not measured"
        ),
        "wall_s": walls,
        "runs": runs,
        "speedup": round(speedup, 2),
        "bar_speedup": BAR_SPEEDUP,
        "bar_wall_n2_s": BAR_WALL_N2_S,
        "all_passed": all(r["exit"] == 0 for rs in runs.values() for r in rs),
    }
    (args.out / "xdist.json").write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"median -n 0 {walls['0']} s, -n 2 {walls['2']} s → speed-up {document['speedup']} "
        f"(bars: ≥ {BAR_SPEEDUP}, -n 2 ≤ {BAR_WALL_N2_S:.0f} s) → {args.out}/xdist.json"
    )
    for workers, worker_runs in runs.items():
        for done in worker_runs:
            for name in done["failed"]:
                print(f"FAILED with -n {workers}: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
