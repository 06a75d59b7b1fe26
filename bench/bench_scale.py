"""Benchmark: the scale curve of the stack through the harness (it measures, it does not judge).

For each size N (default 10, 50, 100, 200): N workspaces at once, each create → online → the
plugin reconcile's restart → a manual restart → the invariant verified on the fresh box, with
the harness's own waits (scale_size.py). Per size: wall time, time per workspace (wall / N),
per-stage median and p95, failed workspaces with their error's first line, peak RSS and PSS of
the stack's process tree, AWS calls per workspace by operation (harness side, and at the
stack's AWS endpoint from every caller) and platform requests per workspace by route.

Each size runs on a fresh stack, smallest first. Fresh: every point starts from an empty
account and fleet, so a point measures N workspaces and not what the sizes before it left
(moto's instance lists, the platform's event tables). Smallest first: the cheap points come
out even when a big size stalls, and a size that hits its time cap (`--max-minutes`) ends the
curve — a larger one would only stall worse, with the unfinished workspaces still polling.

    .venv/bin/python bench/bench_scale.py [--workspaces 10,50,100,200] [--max-minutes 15]

Writes reports/bench/scale.json after every size; prints a one-screen table.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from provenance import stamp  # noqa: E402
from scale_report import render  # noqa: E402
from scale_size import run_size  # noqa: E402

from e2e.harness.settings import load_run_settings  # noqa: E402


def sizes_arg(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive integers: {text!r}")
    return sorted(sizes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspaces", type=sizes_arg, default=[10, 50, 100, 200])
    parser.add_argument("--max-minutes", type=float, default=15.0, help="cap per size")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    settings = load_run_settings()
    doc: dict[str, Any] = {
        **stamp(),
        "what": "N workspaces at once per size: create → online → reconcile → restart → verify",
        "order": "each size on a fresh stack, smallest first; a timed-out size ends the curve",
        "max_minutes_per_size": args.max_minutes,
        "sizes": [],
    }
    path = args.out / "scale.json"

    def save(size: dict[str, Any] | None = None) -> None:
        """Written as soon as a size is measured, and again once its workspaces are deleted."""
        if size is not None:
            doc["sizes"].append(size)
        path.write_text(json.dumps(doc, indent=2) + "\n")

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        for n in args.workspaces:
            if doc["sizes"] and doc["sizes"][-1].get("timed_out"):
                save({"workspaces": n, "skipped": "a smaller size timed out"})
                continue
            print(f"scale: {n} workspaces on a fresh stack", flush=True)
            run_size(n, settings, Path(scratch), args.max_minutes * 60, save)
            save()
    print(render(doc))
    print(f"→ {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
