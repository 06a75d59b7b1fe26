"""StackPool: prefetched stacks are handed out once, shared ones never restarted, untaken
ones stopped at close."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.harness.settings import RunSettings
from e2e.targets import pool as pool_module
from e2e.targets.pool import StackPool


class FakeHandle:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[FakeHandle]:
    made: list[FakeHandle] = []

    def fake_start(settings: Any, env: dict[str, str], label: str, **_: Any) -> FakeHandle:
        made.append(FakeHandle(dict(env)))
        return made[-1]

    monkeypatch.setattr(pool_module, "start_embedded", fake_start)
    return made


def test_prefetched_stack_is_taken_once(started: list[FakeHandle]) -> None:
    p = StackPool(RunSettings())
    p.prefetch({"REFERENCE_FAULTS": "x"}, "x")
    p.prefetch({"REFERENCE_FAULTS": "x"}, "x")  # already on its way: no second start
    first = p.take({"REFERENCE_FAULTS": "x"}, "x")
    assert first is started[0] and len(started) == 1
    second = p.take({"REFERENCE_FAULTS": "x"}, "x")  # nothing prefetched: a new one
    assert second is started[1]
    p.close()


def test_shared_stack_is_never_prefetched_again_and_untaken_ones_are_closed(
    started: list[FakeHandle],
) -> None:
    p = StackPool(RunSettings())
    session = p.take({}, "session-stack", shared=True)
    p.prefetch({}, "session-stack")
    p.prefetch({"REFERENCE_BACKEND": "docker"}, "docker")
    p.close()
    assert [h.env for h in started] == [{}, {"REFERENCE_BACKEND": "docker"}]
    assert started[0] is session and not started[0].closed and started[1].closed
