"""How often to ask SSM whether a command is done, learnt from the commands before it."""

from __future__ import annotations

import statistics
import threading
from collections import deque


class CommandPace:
    """How long commands on these boxes take, so polls are spent where the answer can be.

    Each get_command_invocation costs a few milliseconds of CPU on both ends, and a command
    that takes 50 ms polled every 10 ms from the start is mostly "not yet" answers (six per
    command in the e2e suite; one poll per command is the floor). From the median of the
    recent durations, the first poll waits for about half of it, and polls after it come at
    a quarter of it (never more often than the host's `poll_s`). A command that is faster than
    the pace costs at most that first half-median of latency; a slow one is polled as before.
    """

    def __init__(self, keep: int = 15, cap_s: float = 2.0) -> None:
        self._recent: deque[float] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.cap_s = cap_s  # staging: never wait longer than this before the first look

    def record(self, elapsed_s: float) -> None:
        with self._lock:
            self._recent.append(elapsed_s)

    def typical_s(self) -> float:
        """Median of the recent durations (0 until a command has finished)."""
        with self._lock:
            return statistics.median(self._recent) if self._recent else 0.0

    def first_poll_s(self) -> float:
        return min(self.typical_s() / 2, self.cap_s)

    def poll_s(self, floor_s: float) -> float:
        return max(floor_s, min(self.typical_s() / 4, self.cap_s))
