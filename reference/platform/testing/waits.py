"""Bounded polling that reports the last value seen (no bare sleeps in tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Eventually:
    """Poll `probe` until `done(value)`; on timeout fail with the last value seen."""

    @staticmethod
    def wait(
        probe: Callable[[], Any],
        done: Callable[[Any], bool],
        what: str,
        timeout_s: float = 10.0,
        every_s: float = 0.01,
    ) -> Any:
        end = time.monotonic() + timeout_s
        last: Any = None
        while True:
            last = probe()
            if done(last):
                return last
            if time.monotonic() > end:
                raise AssertionError(
                    f"timed out after {timeout_s}s waiting for {what}; last: {last}"
                )
            time.sleep(every_s)
