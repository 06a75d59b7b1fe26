"""Kill matrix ("make mutants"): the gate against one fresh reference stack per fault switch.

Every product fault must fail the gate with the right diagnosis (the historical bug as
"config.yaml is the 218-byte stub; prompts missing", not a timeout); every benign fault and the
no-fault control must leave it green. A proof, not a benchmark: its answer is the exit code.
The rows, the judging and the reports are e2e/campaign/; this is the command line. The stacks
are forked from one warm `python -m reference forkserver`; nothing here imports `reference`.

    .venv/bin/python proofs/mutants.py                      # the full matrix
    .venv/bin/python proofs/mutants.py --only restart-drops-template
    .venv/bin/python proofs/mutants.py --jobs 2             # two stacks at a time

Writes reports/mutants.json (with the commit it ran on) and reports/mutants.md; exit 1 if any
row is not OK.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from provenance import commit  # noqa: E402

from e2e.campaign.matrix import report_meta, run_matrix, summary, write_reports  # noqa: E402
from e2e.campaign.runner import fault_stack, gate_once  # noqa: E402
from e2e.campaign.verdicts import Case, Outcome, matrix_cases, select_cases  # noqa: E402
from e2e.harness.settings import load_run_settings  # noqa: E402
from e2e.targets.session import new_forkserver  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", default=[], help="run just this case (repeat)")
    parser.add_argument("--jobs", type=int, default=1, help="stacks at a time (default 1)")
    parser.add_argument("--out", type=Path, default=REPO / "reports")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    settings = load_run_settings()
    # the rows asked for ([]: the whole matrix, the only run that proves the matrix)
    meta = {**report_meta(settings.restarts), "commit": commit(), "only": args.only}
    cases = matrix_cases(settings.plugin_name)
    if args.only:
        cases = select_cases(cases, args.only)
    print(f"kill matrix: {len(cases)} cases, run {settings.run_id}, {settings.restarts} restarts")

    forkserver = new_forkserver(settings)  # one warm server forks every case's stack

    def run_case(case: Case) -> Outcome:
        label = "mutant-" + (case.name.replace(",", "+") if case.faults else "none")
        with fault_stack(settings, case.faults, label, forkserver) as handle:
            return gate_once(handle, purpose=label[:20], fixture=case.fixture)

    try:
        rows = run_matrix(cases, run_case, jobs=args.jobs)
    finally:
        if forkserver is not None:
            forkserver.close()
    json_path, md_path = write_reports(rows, args.out, meta)
    total = summary(rows)
    print(
        f"product faults caught {total['product_caught']}/{total['product_faults']}, "
        f"benign/control failing {total['benign_failing']} → {md_path}, {json_path}"
    )
    for line in total["not_ok"]:
        print(f"NOT OK: {line}")
    return 0 if total["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
