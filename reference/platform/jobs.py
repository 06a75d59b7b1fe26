"""Background work of the platform: one thread pool for provisions and restart loops, and
timers for work the product defers (a late reconcile). Nothing is started once stopping."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class Jobs:
    # Provision jobs wait on the control plane and restart loops on their gate; at a
    # 200-workspace burst they must not queue behind one another.
    def __init__(self, workers: int = 256) -> None:
        self.stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ws-job")
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self.stopping.is_set():
            return
        try:
            self._pool.submit(self._guarded, fn, *args)
        except RuntimeError:  # the pool shut down meanwhile: the next process resumes
            log.warning("platform stopping: %s%r not started", fn.__name__, args)

    def later(self, delay_s: float, fn: Callable[..., None], *args: Any) -> None:
        timer = threading.Timer(delay_s, self.submit, (fn, *args))
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()

    @staticmethod
    def _guarded(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("platform job %s%r failed", fn.__name__, args)

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            for timer in self._timers:
                timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
