"""Benchmark: xdist scaling of the e2e suite, `-n 0` vs `-n 2` (it measures, it does not judge).

Reuses `bench_gate.bench_suite` (the whole suite as `make e2e` runs it, once per worker count)
and writes reports/bench/xdist.json (bar: speed-up ≥ 1.6 on 2 cores).

    .venv/bin/python bench/bench_xdist.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from bench_gate import bench_suite, machine  # noqa: E402

BAR_SPEEDUP = 1.6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    suite = bench_suite()
    document = {
        "machine": machine(),
        **suite,
        "bar_speedup": BAR_SPEEDUP,
        "within_bar": suite["speedup"] >= BAR_SPEEDUP,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "xdist.json").write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"-n 0 {suite['wall_s']['0']} s, -n 2 {suite['wall_s']['2']} s → speed-up "
        f"{suite['speedup']} (bar ≥ {BAR_SPEEDUP}) → {args.out}/xdist.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
