"""Liveness keys: a workspace is alive while its box's last register/heartbeat is younger than
the TTL (the product keeps `ws:<id>` in Redis with a 180 s TTL and reacts to its expiry).

The reference clears the key when a restart begins, so a box that takes longer than the TTL
to boot is not declared offline while it is being provisioned. The product's code never clears
it on restart; whether its Redis reports the expiry is not known (the e2e harness must cope
either way), and without the clear a scaled-down TTL would turn every slow boot into an extra
restart cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Liveness:
    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._deadlines: dict[str, float] = {}

    def refresh(self, ws_id: str) -> None:
        with self._lock:
            self._deadlines[ws_id] = self.clock() + self.ttl_s

    def clear(self, ws_id: str) -> None:
        with self._lock:
            self._deadlines.pop(ws_id, None)

    def alive(self, ws_id: str) -> bool:
        with self._lock:
            deadline = self._deadlines.get(ws_id)
            return deadline is not None and self.clock() < deadline

    def expired(self) -> list[str]:
        """Keys past their deadline, removed as they are reported (an expiry fires once)."""
        now = self.clock()
        with self._lock:
            gone = [ws_id for ws_id, deadline in self._deadlines.items() if deadline <= now]
            for ws_id in gone:
                del self._deadlines[ws_id]
        return gone
