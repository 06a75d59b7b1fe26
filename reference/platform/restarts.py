"""When a restart runs: the per-workspace gate and the automatic-restart debounce.

The product (handlers/workspace_restart.go) has two paths:

- manual restarts take a per-workspace gate (`restartProvisionGates`) and always run a full
  stop + provision; a second one waits for the gate and runs its own cycle;
- automatic restarts (`RestartByID`: plugin install, reconcile, liveness, ...) are dropped when
  they come within the window (60 s) of the start of the most recent automatic cycle, finished
  or not; past the window, a call while a cycle runs queues exactly one more cycle, and each
  cycle re-stamps its start.

`AutoRestarts` is the decision alone, over an injected clock, so tests drive time instead of
waiting for it; the lifecycle runs the cycles it is told to run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    started_at: float | None = None  # start of the most recent automatic cycle
    running: bool = False
    pending: bool = False
    dropped: int = 0


class AutoRestarts:
    """RestartByID's debounce and coalescing, per workspace."""

    def __init__(self, window_s: float, clock: Callable[[], float]) -> None:
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def request(self, ws_id: str) -> str:
        """`dropped` (inside the window), `queued` (a cycle runs: one more follows it) or
        `run` (the caller must now call `next_cycle` until it answers False)."""
        with self._lock:
            state = self._states.setdefault(ws_id, _State())
            now = self.clock()
            if state.started_at is not None and now - state.started_at < self.window_s:
                state.dropped += 1
                return "dropped"
            state.pending = True
            if state.running:
                return "queued"
            state.running = True
            return "run"

    def next_cycle(self, ws_id: str) -> bool:
        """True when one more cycle must run now (its start is stamped); False ends the loop."""
        with self._lock:
            state = self._states[ws_id]
            if not state.pending:
                state.running = False
                return False
            state.pending = False
            state.started_at = self.clock()
            return True

    def dropped(self, ws_id: str) -> int:
        with self._lock:
            state = self._states.get(ws_id)
            return state.dropped if state else 0

    def forget(self, ws_id: str) -> None:
        with self._lock:
            self._states.pop(ws_id, None)


class Gates:
    """One lock per workspace, shared by manual and automatic restarts and first provision."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: dict[str, threading.Lock] = {}

    def __call__(self, ws_id: str) -> threading.Lock:
        with self._lock:
            return self._gates.setdefault(ws_id, threading.Lock())
