"""Benchmark: stack scale through the harness (it measures, it does not judge).

N workspaces (default 50) on one embedded stack, concurrently, each through create → online
(and the plugin-reconcile restart settled) → a manual restart → a DESIGN §4 verification over
SSM of the fresh box, with the harness's own waits and checks. Meanwhile the stack's process
tree (platform, CP, moto, fleet and every box) is sampled for RSS and PSS.

    .venv/bin/python bench/bench_scale.py [--workspaces 50]

Writes reports/bench/scale.json: wall time, per-stage medians, errors, peak RSS/PSS
(bars: zero errors, peak RSS ≤ 1.5 GiB).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_fleet import tree_memory  # noqa: E402

from e2e.campaign.machine import machine  # noqa: E402
from e2e.harness.cleanup import Cleanup  # noqa: E402
from e2e.harness.gate import GateContext, import_template  # noqa: E402
from e2e.harness.settings import PROFILES, load_run_settings  # noqa: E402
from e2e.harness.verify import Expected, TemplateFixture, verify_box  # noqa: E402
from e2e.harness.workspace import Workspace  # noqa: E402
from e2e.targets.session import connect  # noqa: E402

BAR_RSS_MIB = 1.5 * 1024
SAMPLE_S = 0.2


class PeakMemory:
    """Samples a process tree in the background; keeps the peaks."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak: dict[str, float] = {
            "rss_mib": 0.0,
            "pss_mib": 0.0,
            "processes": 0,
            "stack_process_rss_mib": 0.0,  # platform, CP, moto, fleet in one process
        }
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = tree_memory(self.pid)
            self.samples += 1
            for key in self.peak:
                self.peak[key] = max(self.peak[key], now.get(key, 0.0))
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench")
    args = parser.parse_args()
    settings = load_run_settings()
    # 50 boots at once on 2 cores: the `fast` deadlines with room (a benchmark, not a test)
    fast = PROFILES["fast"]
    settings = replace(
        settings,
        profile=replace(
            fast,
            online_s=120.0,
            restart_s=120.0,
            reconcile_s=120.0,
            delete_s=120.0,
            http_timeout_s=60.0,
        ),
    )
    handle = connect(settings)
    assert handle.stack is not None and handle.stack.proc is not None
    cleanup = Cleanup()
    ctx = GateContext(handle.platform, handle.aws, settings, cleanup)
    fixture = TemplateFixture.from_dir(ctx.template_dir)
    template = import_template(ctx, fixture)
    lock = threading.Lock()
    stages: dict[str, list[float]] = {"online": [], "restart": [], "verify": [], "total": []}
    errors: list[str] = []
    cleanups = [Cleanup() for _ in range(args.workspaces)]  # one each: deleted concurrently

    def one(n: int) -> None:
        started = time.perf_counter()
        try:
            ws = Workspace.create(
                handle.platform, handle.aws, settings, cleanups[n], ctx.name(f"scale{n}"), template
            )
            ws.wait_stable("online after create")
            ws.wait_reconciled(fixture.declared_plugins())
            online = time.perf_counter()
            ws.restart()
            restarted = time.perf_counter()
            verify_box(ws, Expected(template=fixture), "after restart")
            done = time.perf_counter()
        except Exception as exc:
            with lock:
                errors.append(f"workspace {n}: {type(exc).__name__}: {str(exc)[:4000]}")
            return
        with lock:
            stages["online"].append(online - started)
            stages["restart"].append(restarted - online)
            stages["verify"].append(done - restarted)
            stages["total"].append(done - started)

    memory = PeakMemory(handle.stack.proc.pid)
    try:
        with memory:
            started = time.perf_counter()
            with ThreadPoolExecutor(args.workspaces) as pool:
                list(pool.map(one, range(args.workspaces)))
            wall = time.perf_counter() - started
        cleanup_errors: list[str] = []

        def remove(registry: Cleanup) -> None:
            try:
                registry.run()
            except Exception as exc:  # counted and reported, never hidden
                cleanup_errors.append(f"{type(exc).__name__}: {str(exc)[:1000]}")

        started_cleanup = time.perf_counter()
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(remove, cleanups))
        cleanup_s = time.perf_counter() - started_cleanup
        leaks = handle.check_leaks()
    finally:
        for registry in [*cleanups, cleanup]:
            try:
                registry.run()  # anything a failure above left (a no-op after a clean run)
            except Exception as exc:
                print(f"cleanup: {exc}")
        handle.close()
    peak_rss = memory.peak["rss_mib"]
    document = {
        "what": f"{args.workspaces} workspaces concurrently: create → online → restart → verify",
        "machine": machine(),
        "workspaces": args.workspaces,
        "completed": len(stages["total"]),
        "errors": errors,
        "wall_s": round(wall, 2),
        "stage_median_s": {
            k: round(statistics.median(v), 3) if v else None for k, v in stages.items()
        },
        "stage_max_s": {k: round(max(v), 3) if v else None for k, v in stages.items()},
        "peak_rss_mib": round(peak_rss, 1),
        "peak_pss_mib": round(memory.peak["pss_mib"], 1),
        "peak_processes": memory.peak["processes"],
        "peak_stack_process_rss_mib": round(memory.peak["stack_process_rss_mib"], 1),
        "memory_samples": memory.samples,
        "bar_rss_mib": BAR_RSS_MIB,
        "within_bar": not errors and peak_rss <= BAR_RSS_MIB,
        "cleanup_s": round(cleanup_s, 2),
        "cleanup_errors": cleanup_errors,
        "leaks_after": leaks,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"{document['completed']}/{args.workspaces} workspaces in {document['wall_s']} s, "
        f"{len(errors)} errors, peak RSS {document['peak_rss_mib']} MiB "
        f"(PSS {document['peak_pss_mib']} MiB) → {args.out}/scale.json"
    )
    if cleanup_errors:
        print(f"{len(cleanup_errors)} cleanup errors, first: {cleanup_errors[0][:300]}")
    for error in errors[:10]:
        print(f"ERROR {error.splitlines()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
