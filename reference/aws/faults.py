"""Benign AWS faults: throttled reads and slow SSM delivery, deterministic so nothing flakes."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class SsmDelays:
    """How long a new invocation stays not-found, then Pending (the `ssm-delay` fault)."""

    hidden_s: float = 0.0
    pending_s: float = 0.0


def ssm_delays(faults: frozenset[str]) -> SsmDelays:
    return SsmDelays(0.4, 0.4) if "ssm-delay" in faults else SsmDelays()


class Throttle:
    """Throttle every `every`-th read, but never the same request twice in `memory_s` seconds.

    botocore retries a throttled call with the same body, so each logical call is throttled at
    most once and always succeeds within its retry budget.
    """

    def __init__(self, enabled: bool, every: int = 3, memory_s: float = 5.0) -> None:
        self.enabled = enabled
        self.every = every
        self.memory_s = memory_s
        self._count = 0
        self._recent: dict[bytes, float] = {}
        self._lock = threading.Lock()
        self.throttled = 0

    def should_throttle(self, key: bytes) -> bool:
        if not self.enabled:
            return False
        digest = hashlib.sha256(key).digest()
        now = time.monotonic()
        with self._lock:
            self._count += 1
            if len(self._recent) > 10_000 or self._count % 100 == 0:
                self._recent = {k: t for k, t in self._recent.items() if now - t < self.memory_s}
            if self._count % self.every != 0:
                return False
            seen = self._recent.get(digest)
            if seen is not None and now - seen < self.memory_s:
                return False
            self._recent[digest] = now
            self.throttled += 1
            return True
