"""`make bench`: every benchmark of issue 7, one after the other, then one table of figures vs
bars (also written as reports/bench/summary.json and summary.md, for the README).

Benchmarks measure; they never fail a build on a figure (the exit status is 0 unless a
benchmark could not run). The kill matrix and soak figures are read from reports/ if present.

    .venv/bin/python bench/run_all.py [--only gate,overhead,xdist,scale] [--table-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reference.procs import die_with_parent  # noqa: E402

BENCHES: dict[str, list[str]] = {
    "gate": ["bench/bench_gate.py", "--runs", "10"],
    "overhead": ["bench/bench_overhead.py", "--runs", "5"],
    "xdist": ["bench/bench_xdist.py"],
    "scale": ["bench/bench_scale.py", "--workspaces", "50"],
}


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def rows(bench: Path, reports: Path) -> list[tuple[str, str, str, bool | None]]:
    """(what, figure, bar, met) for each figure whose JSON exists."""
    out: list[tuple[str, str, str, bool | None]] = []
    if gate := _load(bench / "gate.json"):
        med = gate["median_s"]
        out.append(
            (f"gate wall time, median of {len(gate['runs'])}", f"{med:.2f} s", "≤ 3 s", med <= 3.0)
        )
    if ovh := _load(bench / "overhead.json"):
        out.append(
            (
                "harness overhead (gate / straight-line script)",
                f"{ovh['ratio']:.2f} ({ovh['harness_median_s']:.2f} s / "
                f"{ovh['straight_median_s']:.2f} s)",
                "≤ 1.15",
                ovh["ratio"] <= 1.15,
            )
        )
    if xd := _load(bench / "xdist.json"):
        walls = xd["wall_s"]
        runs = xd.get("runs") or {}
        failed = [f"-n {w}: {n}" for w, rs in runs.items() for r in rs for n in r["failed"]]
        note = f"; failed {', '.join(failed)}" if failed else ""
        repeat = len(runs.get("2", [])) or 1
        out.append(
            (
                "e2e suite -n 0 vs -n 2 speed-up",
                f"{xd['speedup']:.2f} ({walls['0']:.0f} s → {walls['2']:.0f} s, medians of "
                f"{repeat}{note})",
                "≥ 1.6",
                xd["speedup"] >= 1.6 and not failed,
            )
        )
    if sc := _load(bench / "scale.json"):
        out.append(
            (
                f"{sc['workspaces']} workspaces create → online → restart → verify",
                f"{sc['wall_s']:.1f} s, {len(sc['errors'])} errors, peak RSS "
                f"{sc['peak_rss_mib'] / 1024:.2f} GiB (PSS {sc['peak_pss_mib'] / 1024:.2f} GiB)",
                "0 errors, ≤ 1.5 GiB",
                not sc["errors"] and sc["peak_rss_mib"] <= 1536,
            )
        )
    if mut := _load(reports / "mutants.json"):
        s = mut["summary"]
        out.append(
            (
                "kill matrix",
                f"{s['product_caught']}/{s['product_faults']} product faults caught, "
                f"{s['benign_failing']} benign/control failing",
                "100 % caught, 0 failing",
                s["ok"],
            )
        )
    if soak := _load(reports / "soak.json"):
        out.append(
            (
                "flake soak",
                f"{soak['failures']} failures in {soak['runs']} runs (seed {soak['seed']}; "
                f"gate p50 {soak['p50_gate_s']} s, p95 {soak['p95_gate_s']} s)",
                "0 in 200",
                soak["failures"] == 0 and soak["runs"] >= 200,
            )
        )
    return out


def table(found: list[tuple[str, str, str, bool | None]]) -> str:
    lines = ["| what | measured | bar | met |", "|---|---|---|---|"]
    for what, figure, bar, met in found:
        lines.append(f"| {what} | {figure} | {bar} | {'yes' if met else 'no'} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES), help="comma list of benchmarks")
    parser.add_argument("--table-only", action="store_true", help="just summarise the JSON")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    failed = []
    if not args.table_only:
        for name in [n for n in args.only.split(",") if n]:
            cmd = [sys.executable, *BENCHES[name], "--out", str(args.out)]
            print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
            # a benchmark ends with this script (SIGTERM), and its stack with it
            if subprocess.run(cmd, cwd=REPO, preexec_fn=die_with_parent).returncode != 0:
                failed.append(name)
    found = rows(args.out, args.out.parent)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(
        json.dumps(
            [{"what": w, "measured": f, "bar": b, "met": m} for w, f, b, m in found], indent=2
        )
        + "\n"
    )
    (args.out / "summary.md").write_text(table(found))
    print(table(found))
    if failed:
        print(f"could not run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
