"""A hand-driven clock for the pure modules that take one (AutoRestarts, Liveness, RateLimit):
tests move time instead of waiting for it."""

from __future__ import annotations


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now
