"""Eventually-style waits: poll an observable condition until a deadline, never sleep blindly.

A wait logs its status calmly (on every change, else every `log_every_s`) and, on timeout, says
what it last saw: the caller's `describe(observation)` renders status, instance and events.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, ParamSpec, TypeVar

log = logging.getLogger("e2e.wait")

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

# The run's global deadlines (time.monotonic(); None: unbounded), from E2E_DEADLINE_S: every
# wait ends by the first (which keeps the teardown reserve free), a teardown wait by the second.
_deadlines: dict[str, float | None] = {"test": None, "teardown": None}


def set_deadline(test_at: float | None, teardown_at: float | None) -> None:
    _deadlines.update(test=test_at, teardown=teardown_at)


class PollBudget:
    """How many polls a second this process may make across all its waits (None: no cap).

    Each wait polls at its own pace; a hundred waits side by side would multiply that, so a
    wait's interval is at least (waits running) / (polls a second): the process's polls stay
    within the budget however many workspaces it watches. On staging that keeps the harness
    under the tenant's rate limit; on the embedded stack, off the stack's one core.
    """

    def __init__(self) -> None:
        self.per_s: float | None = None
        self.active = 0
        self._lock = threading.Lock()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1

    def least_interval_s(self) -> float:
        return 0.0 if not self.per_s else self.active / self.per_s


POLLS = PollBudget()


def set_poll_budget(per_s: float | None) -> None:
    POLLS.per_s = per_s


def capped(
    timeout_s: float, clock: Callable[[], float] = time.monotonic, teardown: bool = False
) -> float:
    """`timeout_s`, or less when the run's global deadline comes first (never below 0)."""
    at = _deadlines["teardown" if teardown else "test"]
    return timeout_s if at is None else max(0.0, min(timeout_s, at - clock()))


class WaitTimeout(AssertionError):
    """The condition did not hold in time. An AssertionError so pytest shows it as a failure."""

    def __init__(self, message: str, last: object = None) -> None:
        super().__init__(message)
        self.last = last


class WaitAborted(AssertionError):
    """The condition can no longer hold (e.g. the workspace failed): stop waiting, say why."""


@dataclass
class Outcome(Generic[T]):
    """What a wait returns: the last observation and how long it took."""

    value: T
    elapsed_s: float
    polls: int


def _counted(fn: Callable[P, R]) -> Callable[P, R]:
    """Counts the call as a running wait for the poll budget while it runs."""

    @functools.wraps(fn)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        with POLLS.waiting():
            return fn(*args, **kwargs)

    return counted


@_counted
def wait_for(
    what: str,
    observe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout_s: float,
    poll_s: float,
    describe: Callable[[T], str] = repr,
    abort: Callable[[T], str | None] | None = None,
    log_every_s: float = 5.0,
    steady_s: float = 2.0,
    first_after_s: float = 0.0,
    level: int = logging.INFO,
    transient: tuple[type[BaseException], ...] = (),
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
    teardown: bool = False,
) -> Outcome[T]:
    """Poll `observe()` until `done(obs)`; raise WaitTimeout naming the last observation.

    `transient` exceptions from `observe` count as "not yet" (and are reported if they are the
    last thing seen). `abort(obs)` returning a reason stops the wait early with WaitAborted.
    Polls every `poll_s` for the first `steady_s`, then the interval grows gently to at most
    8 x `poll_s`, so short waits stay responsive and long ones cheap. `first_after_s` skips
    looks that cannot succeed yet: the first one comes that long after the start (within the
    deadline), e.g. when the thing waited for is known to take at least that long.
    """
    start = clock()
    if capped(timeout_s, clock, teardown) < timeout_s:
        timeout_s = capped(timeout_s, clock, teardown)
        what += f" (deadline cut to {timeout_s:.0f}s by E2E_DEADLINE_S)"
    deadline = start + timeout_s
    if first_after_s > 0:
        pause(min(first_after_s, timeout_s))
    interval = poll_s
    polls = 0
    last_text = "nothing observed yet"
    last_value: object = None
    last_logged_text = ""
    last_logged_at = start
    while True:
        polls += 1
        try:
            value = observe()
        except transient as exc:
            last_text = f"{type(exc).__name__}: {exc}"
        else:
            last_value = value
            last_text = describe(value)
            if done(value):
                elapsed = clock() - start
                log.log(
                    level, "%s: done after %.2fs (%d polls): %s", what, elapsed, polls, last_text
                )
                return Outcome(value, elapsed, polls)
            reason = abort(value) if abort else None
            if reason:
                raise WaitAborted(
                    f"{what}: gave up after {clock() - start:.2f}s: {reason}\n"
                    f"last observed: {last_text}"
                )
        now = clock()
        if last_text != last_logged_text or now - last_logged_at >= log_every_s:
            log.log(level, "%s: %.1fs/%.0fs: %s", what, now - start, timeout_s, last_text)
            last_logged_text, last_logged_at = last_text, now
        if now >= deadline:
            raise WaitTimeout(
                f"{what}: not reached within {timeout_s:.1f}s ({polls} polls)\n"
                f"last observed: {last_text}",
                last_value,
            )
        pause(min(max(interval, POLLS.least_interval_s()), max(0.0, deadline - now)))
        if now - start >= steady_s:
            interval = min(interval * 1.5, poll_s * 8)
