"""One point of the scale curve: N workspaces at once on a fresh stack, each through the
harness's own steps — create (persisting data) → online → the plugin reconcile's restart →
a manual restart → the invariant verified on the fresh box — while the stack's process tree is
sampled for memory and every call is counted (harness side per route and operation; server
side by moto's recorder, see aws_server.py).

Each workspace runs in a daemon thread that says which stage it is in, so a size that does not
finish within its time cap reports where its workspaces stopped instead of hanging the curve.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aws_server
from calls import ATTEMPTS, Calls, per_item
from memory import PeakMemory, tree_cpu_s
from provenance import machine

from e2e.campaign.soak import percentile
from e2e.harness import settle, triggers
from e2e.harness.cleanup import Cleanup
from e2e.harness.fixture import Expected, TemplateFixture
from e2e.harness.gate import GateContext, import_template
from e2e.harness.profiles import PROFILES, Profile
from e2e.harness.settings import RunSettings
from e2e.harness.verify import verify_box
from e2e.harness.waits import set_poll_budget
from e2e.harness.workspace import Workspace
from e2e.targets.session import StackHandle, start_embedded

STAGES = ("online", "reconcile", "restart", "verify")
PROGRESS_EVERY_S = 10.0


def generous(n: int) -> Profile:
    """The `fast` profile's polls with deadlines that grow with N: a benchmark measures how
    long things take, so a slow box under load must not turn into a timeout."""
    return replace(
        PROFILES["fast"],
        online_s=max(180.0, 6.0 * n),
        restart_s=max(180.0, 6.0 * n),
        reconcile_s=max(180.0, 6.0 * n),
        ssm_online_s=max(20.0, n / 2),
        command_s=max(20.0, n / 4),
        delete_s=max(120.0, 2.0 * n),
        http_timeout_s=60.0,
    )


def stack_env(n: int) -> dict[str, str]:
    """The stack's timings for N boxes. Every box beats every 0.4 s by default (the product's
    30 s, compressed): 200 boxes would send 500 heartbeats a second, which alone fill a 2-core
    machine and starve the boots and sweeps they are timed against. The beat stretches with N
    so the heartbeat traffic stays that of 50 boxes (the liveness TTL stays 8 beats), and the
    provision timeout (30 s, compressed from 12 min) grows with N as the harness's deadlines
    do: the curve measures the stack and the harness, not a compressed timeout firing."""
    return {
        "REFERENCE_HEARTBEAT_S": f"{0.4 * max(1.0, n / 50):.2f}",
        "REFERENCE_PROVISION_TIMEOUT_S": f"{max(30.0, 0.6 * n):.0f}",
    }


@dataclass
class Track:
    """One workspace's way through the stages."""

    n: int
    stage: str = "create"
    since: float = field(default_factory=time.perf_counter)
    seconds: dict[str, float] = field(default_factory=dict)
    error: str = ""  # the first line, as the report shows it
    detail: str = ""
    ws: Workspace | None = None
    cleanup: Cleanup = field(default_factory=Cleanup)

    def enter(self, stage: str) -> None:
        now = time.perf_counter()
        if self.stage in STAGES:
            self.seconds[self.stage] = now - self.since
        self.stage, self.since = stage, now

    @property
    def finished(self) -> bool:
        return self.stage in ("done", "failed")


class Finish:
    """Counts workspaces that ended (done or failed); `wait` returns once all have."""

    def __init__(self, total: int) -> None:
        self.left = total
        self._lock = threading.Lock()
        self._all = threading.Event()
        if total == 0:
            self._all.set()

    def one(self) -> None:
        with self._lock:
            self.left -= 1
            if self.left <= 0:
                self._all.set()

    def wait(self, timeout_s: float) -> bool:
        return self._all.wait(max(0.0, timeout_s))


@dataclass
class Run:
    """What every workspace of one size shares."""

    handle: StackHandle
    settings: RunSettings
    ctx: GateContext
    template: str
    fixture: TemplateFixture
    finish: Finish


def drive(track: Track, run: Run) -> None:
    started = time.perf_counter()
    try:
        name = run.ctx.name(f"scale{track.n}")
        handle = run.handle
        ws = track.ws = Workspace.create(
            handle.platform, handle.aws, run.settings, track.cleanup, name, run.template
        )
        track.enter("online")
        settle.wait_stable(ws, "online after create")
        track.enter("reconcile")
        settle.wait_reconciled(ws, run.fixture.declared_plugins())
        track.enter("restart")
        triggers.restart(ws)
        track.enter("verify")
        verify_box(ws, Expected(template=run.fixture), "after restart")
        track.enter("done")
        track.seconds["total"] = time.perf_counter() - started
    except Exception as exc:
        lines = str(exc).strip().splitlines() or [""]
        track.error = f"in {track.stage}: {type(exc).__name__}: {lines[0][:300]}"
        track.detail = str(exc)[:3000]
        track.stage = "failed"
    finally:
        run.finish.one()


def census(tracks: list[Track]) -> dict[str, int]:
    return dict(Counter(t.stage for t in tracks))


def stage_stats(tracks: list[Track]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for stage in (*STAGES, "total"):
        values = [t.seconds[stage] for t in tracks if stage in t.seconds]
        p50, p95 = percentile(values, 50), percentile(values, 95)
        out[stage] = {
            "n": len(values),
            "median_s": round(p50, 3) if p50 is not None else None,
            "p95_s": round(p95, 3) if p95 is not None else None,
            "max_s": round(max(values), 3) if values else None,
        }
    return out


def stalled(tracks: list[Track]) -> list[dict[str, Any]]:
    """What each unfinished workspace last saw (no new calls: the stack may be the problem)."""
    now = time.perf_counter()
    out = []
    for t in tracks:
        if t.finished:
            continue
        last = t.ws.last_observation if t.ws else None
        out.append(
            {
                "workspace": t.n,
                "stage": t.stage,
                "in_stage_s": round(now - t.since, 1),
                "last_seen": last.describe() if last else "(nothing yet)",
            }
        )
    return out


def run_size(
    n: int,
    settings: RunSettings,
    scratch: Path,
    max_s: float,
    measured: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """The size's figures; `measured` gets them before the workspaces are deleted (the same
    dict, which the cleanup's figures are added to)."""
    settings = replace(settings, profile=generous(n))
    set_poll_budget(settings.profile.polls_per_s)  # as an e2e run's waits are paced
    with aws_server.recorder_file(scratch / f"aws-{n}.jsonl") as recording:
        stack_timings = stack_env(n)
        handle = start_embedded(settings, stack_timings, label=f"scale-{n}")  # a log per size
    calls = Calls()
    try:
        assert handle.stack is not None and handle.stack.proc is not None
        calls.watch_http(handle.platform._http)
        aws = handle.aws
        calls.watch_aws(aws.ec2, aws.ssm, aws.ssm_poll, aws.ssm_send, aws.secretsmanager)
        ctx = GateContext(handle.platform, handle.aws, settings, Cleanup())
        fixture = ctx.fixture()
        template = import_template(ctx, fixture)
        calls.take()
        tracks = [Track(i) for i in range(n)]
        run = Run(handle, settings, ctx, template, fixture, Finish(n))
        result: dict[str, Any] = {"workspaces": n, "machine": machine(), "stack_env": stack_timings}
        endpoint = handle.target.aws_endpoint_url
        assert endpoint is not None, "the embedded stack announces its AWS endpoint"
        aws_server.switch(endpoint, True)
        memory = PeakMemory(handle.stack.proc.pid, every_s=max(1.0, n / 50))
        progress: list[tuple[float, dict[str, int]]] = []
        stack_pid = handle.stack.proc.pid
        with memory:
            cpu_before = (tree_cpu_s(stack_pid), time.process_time())
            started = time.perf_counter()
            for t in tracks:
                t.since = started
                threading.Thread(target=drive, args=(t, run), daemon=True).start()
            # the main thread only reports: it wakes when all ended, or to print progress
            while not run.finish.wait(min(PROGRESS_EVERY_S, started + max_s - time.perf_counter())):
                elapsed = time.perf_counter() - started
                progress.append((round(elapsed), census(tracks)))
                print(f"  {n} workspaces, {elapsed:4.0f} s: {census(tracks)}", flush=True)
                if elapsed >= max_s:
                    break
            wall = time.perf_counter() - started
            cpu = (tree_cpu_s(stack_pid) - cpu_before[0], time.process_time() - cpu_before[1])
        timed_out = not all(t.finished for t in tracks)
        aws_server.switch(endpoint, False)
        harness, _ = calls.take()
        server, unreadable = aws_server.count(recording)
        result |= {
            "completed": sum(t.stage == "done" for t in tracks),
            "errors": [f"workspace {t.n} {t.error}" for t in tracks if t.error],
            "error_details": [t.detail for t in tracks if t.detail][:3],
            "timed_out": timed_out,
            "stalled": stalled(tracks),
            "wall_s": round(wall, 2),
            "s_per_workspace": None if timed_out else round(wall / n, 3),
            "stages": stage_stats(tracks),
            "memory": {
                "peak_rss_mib": round(memory.peak["rss_mib"], 1),
                "peak_pss_mib": round(memory.peak["pss_mib"], 1),
                "peak_processes": int(memory.peak["processes"]),
                "peak_stack_process_rss_mib": round(memory.peak["stack_process_rss_mib"], 1),
                "samples": memory.samples,
                "sampler_cpu_s": round(memory.cpu_s, 2),
            },
            "cpu_s": {
                "stack_tree": round(cpu[0], 1),
                "harness_process": round(cpu[1], 1),
                "available": round(wall * (os.cpu_count() or 1), 1),
            },
            "events_per_workspace": events_per_workspace(tracks),
            "calls_per_workspace": calls_per_workspace(harness, server, n),
            "recorder_unreadable_lines": unreadable,
            "progress": progress,
            "stack_start_s": round(handle.stack.start_s, 2),
            "stack_log": str(handle.stack.stderr_path),
            "deadlines_s": {k: getattr(settings.profile, k) for k in ("online_s", "restart_s")},
        }
        measured(result)
        if not timed_out:
            result |= clean_up(tracks, handle, max(60.0, 2.0 * n))
        return result
    finally:
        recording.unlink(missing_ok=True)
        handle.close()


def events_per_workspace(tracks: list[Track]) -> dict[str, float]:
    """The lifecycle events the harness saw, per workspace (no new calls: its own logs): more
    WORKSPACE_PROVISIONING than the three cycles asked for means restarts nobody asked for."""
    seen: Counter[str] = Counter()
    for track in tracks:
        if track.ws is not None:
            seen.update(e.event_type for e in track.ws.events.all())
    return {k: round(v / len(tracks), 2) for k, v in seen.most_common()}


def calls_per_workspace(harness: Counter[str], server: Counter[str], n: int) -> dict[str, Any]:
    """Per workspace: the harness's platform requests by route and AWS calls by operation; the
    endpoint's (moto-served) AWS calls from every caller; the stack's own (endpoint's minus
    harness's)."""
    own = Counter({k: v - harness.get(k, 0) for k, v in server.items()})
    return {
        "platform_http_harness": per_item(harness, n, "http "),
        "aws_harness": per_item(harness, n, "aws "),
        "aws_harness_http_attempts": round(harness.get(ATTEMPTS, 0) / n, 1),
        "aws_endpoint_all_callers": per_item(server, n, "aws "),
        "aws_stack_own": per_item(+own, n, "aws "),
    }


def clean_up(tracks: list[Track], handle: StackHandle, cap_s: float) -> dict[str, Any]:
    """Delete every workspace, ten at a time, within `cap_s` (the stack is stopped next, boxes
    and all, so a delete still waiting then is reported, not waited for); then, if all ended,
    the account must be empty."""
    errors: list[str] = []
    pending: queue.SimpleQueue[Track] = queue.SimpleQueue()
    for track in tracks:
        pending.put(track)
    finish = Finish(len(tracks))

    def remover() -> None:
        while True:
            try:
                track = pending.get_nowait()
            except queue.Empty:
                return
            try:
                track.cleanup.run()
            except Exception as exc:  # counted and reported, never hidden
                errors.append(f"workspace {track.n}: {str(exc).splitlines()[0][:300]}")
            finally:
                finish.one()

    started = time.perf_counter()
    for _ in range(min(10, len(tracks))):
        threading.Thread(target=remover, name="scale-cleanup", daemon=True).start()
    ended = finish.wait(cap_s)
    return {
        "cleanup_s": round(time.perf_counter() - started, 2),
        "cleanup_unfinished": finish.left,
        "cleanup_errors": list(errors),
        "leaks_after": handle.check_leaks() if ended else None,
    }
