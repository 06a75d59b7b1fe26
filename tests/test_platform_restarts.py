"""RestartByID's debounce and coalescing (reference/platform/restarts.py), over a driven clock.

Product (handlers/workspace_restart.go): a call within 60 s of the start of the most recent
automatic cycle is dropped, whether that cycle still runs or has finished; past the window, calls
while a cycle runs queue exactly one more cycle; each cycle re-stamps the start.
"""

from __future__ import annotations

from support.clock import FakeClock

from reference.platform.restarts import AutoRestarts, Gates

WINDOW = 60.0


def run_cycles(auto: AutoRestarts, ws: str) -> int:
    """Drain the loop as the lifecycle does; how many cycles ran."""
    cycles = 0
    while auto.next_cycle(ws):
        cycles += 1
    return cycles


def test_first_call_runs_one_cycle_and_stamps_its_start() -> None:
    clock = FakeClock()
    auto = AutoRestarts(WINDOW, clock)
    assert auto.request("a") == "run"
    assert run_cycles(auto, "a") == 1
    assert auto.dropped("a") == 0


def test_a_call_inside_the_window_is_dropped_even_after_the_cycle_finished() -> None:
    clock = FakeClock()
    auto = AutoRestarts(WINDOW, clock)
    auto.request("a")
    run_cycles(auto, "a")  # finished at once
    clock.advance(WINDOW - 0.001)
    assert auto.request("a") == "dropped"
    assert auto.request("a") == "dropped"
    assert auto.dropped("a") == 2
    assert run_cycles(auto, "a") == 0  # nothing was queued by a dropped call


def test_a_call_at_the_window_edge_runs_again() -> None:
    clock = FakeClock()
    auto = AutoRestarts(WINDOW, clock)
    auto.request("a")
    run_cycles(auto, "a")
    clock.advance(WINDOW)
    assert auto.request("a") == "run"
    assert run_cycles(auto, "a") == 1


def test_calls_inside_the_window_while_the_cycle_runs_are_dropped_not_queued() -> None:
    clock = FakeClock()
    auto = AutoRestarts(WINDOW, clock)
    auto.request("a")
    assert auto.next_cycle("a")  # cycle 1 starts and is still running
    clock.advance(10)
    assert [auto.request("a") for _ in range(3)] == ["dropped"] * 3
    assert not auto.next_cycle("a")  # cycle 1 ends: nothing follows it


def test_n_calls_past_the_window_while_a_cycle_runs_queue_exactly_one_more() -> None:
    clock = FakeClock()
    auto = AutoRestarts(WINDOW, clock)
    auto.request("a")
    assert auto.next_cycle("a")  # a long cycle: still running past the window
    clock.advance(WINDOW + 1)
    assert [auto.request("a") for _ in range(5)] == ["queued"] * 5
    assert auto.next_cycle("a")  # exactly one more cycle for the five calls
    assert not auto.next_cycle("a")
    assert auto.dropped("a") == 0


def test_each_cycle_re_stamps_the_window_start() -> None:
    clock = FakeClock()
    auto = AutoRestarts(WINDOW, clock)
    auto.request("a")
    assert auto.next_cycle("a")  # cycle 1 at t0
    clock.advance(WINDOW + 5)
    assert auto.request("a") == "queued"
    clock.advance(2)
    assert auto.next_cycle("a")  # cycle 2 starts at t0 + W + 7: the new window's start
    assert not auto.next_cycle("a")
    clock.advance(WINDOW - 1)  # t0 + 2W + 6: past cycle 1's window, inside cycle 2's
    assert auto.request("a") == "dropped"
    clock.advance(1)
    assert auto.request("a") == "run"


def test_windows_are_per_workspace_and_forget_clears_one() -> None:
    clock = FakeClock()
    auto = AutoRestarts(WINDOW, clock)
    auto.request("a")
    run_cycles(auto, "a")
    assert auto.request("b") == "run"
    run_cycles(auto, "b")
    assert auto.request("a") == "dropped"
    auto.forget("a")
    assert auto.dropped("a") == 0
    assert auto.request("a") == "run"


def test_gates_are_one_lock_per_workspace() -> None:
    gates = Gates()
    assert gates("a") is gates("a")
    assert gates("a") is not gates("b")
    with gates("a"):
        assert gates("b").acquire(blocking=False)
        gates("b").release()
        assert not gates("a").acquire(blocking=False)
