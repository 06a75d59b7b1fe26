"""Benchmark: xdist scaling of the e2e suite, `-n 0` vs `-n 2` (it measures, it does not judge).

The whole suite as `make e2e` runs it, once per worker count, keeping each run's output and
JUnit file so a failing test in either run is named, not lost. Writes reports/bench/xdist.json
(bars, 2 cores: `-n 2` ≤ 60 s and speed-up ≥ 1.6) and xdist-n<N>.{log,xml}.

    .venv/bin/python bench/bench_xdist.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from bench_gate import machine  # noqa: E402

BAR_SPEEDUP = 1.6
BAR_WALL_N2_S = 60.0
# as `make e2e` runs it (Makefile E2E_PYTEST_FLAGS): without the unit suite's hypothesis and
# schemathesis plugins, whose import costs each pytest process ~3.5 s before the first test
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


def run_suite(workers: str, out: Path) -> dict[str, Any]:
    junit = out / f"xdist-n{workers}.xml"
    cmd = [*E2E_PYTEST, "-q", "-n", workers, "--junitxml", str(junit)]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    (out / f"xdist-n{workers}.log").write_text(done.stdout + done.stderr)
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
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = {workers: run_suite(workers, args.out) for workers in ("0", "2")}
    speedup = runs["0"]["wall_s"] / runs["2"]["wall_s"]
    document = {
        "what": "pytest e2e with -n 0 and -n 2",
        "machine": machine(),
        "wall_s": {w: r["wall_s"] for w, r in runs.items()},
        "runs": runs,
        "speedup": round(speedup, 2),
        "bar_speedup": BAR_SPEEDUP,
        "bar_wall_n2_s": BAR_WALL_N2_S,
        "within_bar": speedup >= BAR_SPEEDUP and runs["2"]["wall_s"] <= BAR_WALL_N2_S,
        "all_passed": all(r["exit"] == 0 for r in runs.values()),
    }
    (args.out / "xdist.json").write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"-n 0 {runs['0']['wall_s']} s, -n 2 {runs['2']['wall_s']} s → speed-up "
        f"{document['speedup']} (bars: ≥ {BAR_SPEEDUP}, -n 2 ≤ {BAR_WALL_N2_S:.0f} s) "
        f"→ {args.out}/xdist.json"
    )
    for workers, run in runs.items():
        for name in run["failed"]:
            print(f"FAILED with -n {workers}: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
