"""`make bench`: every benchmark, one after the other, then one table of figures against bars
(reports/bench/summary.md and summary.json; summary.py). `--readme` (`make bench-readme`)
copies the table into README.md between `<!-- bench:start -->` and `<!-- bench:end -->`.

Benchmarks measure; they never fail a build on a figure (the exit status is 0 unless a
benchmark could not run). The kill matrix and soak are proofs (proofs/, `make mutants`,
`make soak`): their figures are read from reports/ when present.

    .venv/bin/python bench/run_all.py [--only gate,overhead,xdist,scale] [--table-only] [--readme]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from provenance import stamp  # noqa: E402
from summary import MarkersMissing, as_json, check_readme, into_readme, rows, table  # noqa: E402

from reference.procs import die_with_parent  # noqa: E402

BENCHES: dict[str, list[str]] = {
    "gate": ["bench/bench_gate.py", "--runs", "10"],
    "overhead": ["bench/bench_overhead.py", "--runs", "5"],
    "xdist": ["bench/bench_xdist.py"],
    "scale": ["bench/bench_scale.py", "--workspaces", "10,50,100,200"],
}


def run(names: list[str], out: Path) -> list[str]:
    """Run the benchmarks; the names of those that could not run."""
    failed = []
    for name in names:
        cmd = [sys.executable, *BENCHES[name], "--out", str(out)]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        # a benchmark ends with this script (SIGTERM), and its stack with it
        if subprocess.run(cmd, cwd=REPO, preexec_fn=die_with_parent).returncode != 0:
            failed.append(name)
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES), help="comma list of benchmarks")
    parser.add_argument("--table-only", action="store_true", help="just summarise the JSON")
    parser.add_argument("--readme", action="store_true", help="copy the table into README.md")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    meta = stamp()  # the load before the first benchmark
    unknown = [n for n in args.only.split(",") if n and n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHES)}")
    readme = REPO / "README.md"
    if args.readme:
        try:
            check_readme(readme)
        except MarkersMissing as exc:
            print(f"README.md not updated: {exc}", file=sys.stderr)
            return 2
    failed = [] if args.table_only else run([n for n in args.only.split(",") if n], args.out)
    meta["commit"] = stamp()["commit"]  # what the figures are compared against: HEAD now
    found = rows(args.out, args.out.parent, meta["commit"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(as_json(found, meta), indent=2) + "\n")
    text = table(found, meta)
    (args.out / "summary.md").write_text(text)
    print(text)
    if args.readme:
        into_readme(readme, text)
        print("README.md: the table is between the bench markers")
    if failed:
        print(f"could not run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
