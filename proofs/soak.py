"""Flake soak ("make soak N=200"): the gate N times on the embedded stack with benign faults
switched on at random (seeded; the seed is printed and recorded, `--seed` replays a soak).

Zero failures is the bar; a failure is a bug to fix, never retried. A proof, not a benchmark:
its answer is the exit code. The plan, the judging and the report are e2e/campaign/; this is the
command line. The stack is a subprocess; nothing here imports `reference`.

    .venv/bin/python proofs/soak.py --runs 200 [--seed S] [--per-stack 10] [--max-minutes M]

Writes reports/soak.json (runs, failures, seed, p50/p95 gate seconds, and the commit it ran on:
a soak counts for that commit only); exit 1 on any failure or when the time budget stopped it
before N runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from provenance import commit  # noqa: E402

from e2e.campaign.runner import fault_stack, gate_once  # noqa: E402
from e2e.campaign.soak import Epoch, soak, write_report  # noqa: E402
from e2e.campaign.verdicts import Outcome  # noqa: E402
from e2e.harness.settings import load_run_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None, help="default: random, printed")
    parser.add_argument("--per-stack", type=int, default=10, help="gates per stack (epoch)")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop starting gates")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "soak.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    settings = load_run_settings()
    ran_on = commit()  # the code that runs is the code at the start
    load_at_start = round(os.getloadavg()[0], 2)
    print(f"soak: {args.runs} runs, seed {seed}, run id {settings.run_id}, on {ran_on}", flush=True)
    epochs_started = [0]

    def run_epoch(epoch: Epoch, may_continue: Callable[[], bool]) -> Iterator[Outcome]:
        epochs_started[0] += 1
        label = f"soak-{epochs_started[0]}"
        with fault_stack(settings, epoch.faults, label) as handle:
            for n in range(epoch.runs):
                if not may_continue():
                    break
                yield gate_once(handle, purpose=f"s{epochs_started[0]}-{n}")

    max_seconds = args.max_minutes * 60 if args.max_minutes else None
    result = soak(seed, args.runs, args.per_stack, run_epoch, max_seconds=max_seconds)
    document = {**write_report(result, args.out), "commit": ran_on}
    document["machine"]["loadavg_1m_at_start"] = load_at_start
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"soak: {document['runs']}/{args.runs} runs, {document['failures']} failures, "
        f"seed {seed}, p50 {document['p50_gate_s']} s, p95 {document['p95_gate_s']} s"
        + (f" ({result.stopped_early})" if result.stopped_early else "")
        + f" → {args.out}",
        flush=True,
    )
    return 0 if document["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
