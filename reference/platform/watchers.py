"""The platform's periodic checks, each on its own thread, over the injected clock's time:

- liveness: a key past its TTL → offline and an automatic restart (registry/liveness.go);
- health sweep: a workspace still offline asks for its restart again (a restart dropped
  inside the window is retried once the window has passed, as the product's 15 s sweep does);
- provision timeout: a box that never registers → failed (registry/provisiontimeout.go).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from reference.config import StackConfig
from reference.platform.cycles import Cycles
from reference.platform.lifecycle import Lifecycle
from reference.platform.liveness import Liveness
from reference.platform.store import Store

log = logging.getLogger(__name__)


class Watchers:
    def __init__(
        self,
        config: StackConfig,
        store: Store,
        lifecycle: Lifecycle,
        cycles: Cycles,
        liveness: Liveness,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.store = store
        self.lifecycle = lifecycle
        self.cycles = cycles
        self.liveness = liveness
        self.clock = clock
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        timings = self.config.timings
        ttl = timings.liveness_ttl_s
        for name, every, check in (
            ("liveness", max(0.02, min(ttl / 5, 0.25)), self.check_liveness),
            ("health-sweep", max(0.05, timings.health_sweep_s), self.sweep_offline),
            ("provision-timeout", max(0.05, timings.provision_sweep_s), self.check_timeouts),
        ):
            thread = threading.Thread(
                target=self._loop, args=(every, check), name=f"ws-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _loop(self, every: float, check: Callable[[], None]) -> None:
        while not self._stop.wait(every):
            try:
                check()
            except Exception:
                log.exception("watcher %s failed", check.__name__)

    def check_liveness(self) -> None:
        for ws_id in self.liveness.expired():
            self.lifecycle.went_offline(ws_id)

    def sweep_offline(self) -> None:
        for ws in self.store.workspaces("status = 'offline'"):
            self.cycles.restart_by_id(ws.id, "offline")

    def check_timeouts(self) -> None:
        limit = self.config.timings.provision_timeout_s
        now = self.clock()
        for ws_id, launched in list(self.cycles.launched_at.items()):
            if now - launched > limit:
                self.cycles.launched_at.pop(ws_id, None)
                self.lifecycle.provision_timed_out(ws_id)
