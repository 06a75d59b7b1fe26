"""Liveness keys (reference/platform/liveness.py): the product's `ws:<id>` with a TTL (180 s,
scaled), refreshed by register and heartbeat; an expiry is reported once."""

from __future__ import annotations

from support.clock import FakeClock

from reference.platform.liveness import Liveness

TTL = 180.0


def test_a_refreshed_key_is_alive_until_its_ttl_then_expires_once() -> None:
    clock = FakeClock()
    live = Liveness(TTL, clock)
    live.refresh("a")
    clock.advance(TTL - 0.01)
    assert live.alive("a")
    assert live.expired() == []
    clock.advance(0.01)
    assert not live.alive("a")
    assert live.expired() == ["a"]
    assert live.expired() == []  # fires once
    clock.advance(TTL * 10)
    assert live.expired() == []


def test_a_heartbeat_before_the_ttl_pushes_the_expiry_back() -> None:
    clock = FakeClock()
    live = Liveness(TTL, clock)
    live.refresh("a")
    clock.advance(TTL - 1)
    live.refresh("a")
    clock.advance(TTL - 1)
    assert live.alive("a") and live.expired() == []
    clock.advance(1)
    assert live.expired() == ["a"]


def test_a_cleared_key_never_expires_and_an_unknown_one_is_not_alive() -> None:
    clock = FakeClock()
    live = Liveness(TTL, clock)
    live.refresh("a")
    live.refresh("b")
    live.clear("a")
    live.clear("never-seen")  # harmless
    clock.advance(TTL)
    assert live.expired() == ["b"]
    assert not live.alive("a") and not live.alive("never-seen")


def test_a_key_refreshed_after_its_expiry_expires_again() -> None:
    clock = FakeClock()
    live = Liveness(TTL, clock)
    live.refresh("a")
    clock.advance(TTL)
    assert live.expired() == ["a"]
    live.refresh("a")  # the restarted box registers
    clock.advance(TTL)
    assert live.expired() == ["a"]
