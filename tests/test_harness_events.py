"""events.py: the product answers the newest 100 events, newest first, with uuid ids that say
nothing about order and `created_at` values that may be equal. The log keeps every event it
has seen, oldest first by `created_at` (ties: first seen, older page position first); a mark
is the set of ids seen, so "after the mark" stays right when old events leave the window."""

from __future__ import annotations

from datetime import timedelta

from support.events import T0, EventFeed, event, go_time, raw_event

from e2e.harness.events import (
    FAILED,
    OFFLINE,
    ONLINE,
    PROVISIONING,
    EventLog,
    last_failure,
    settled_after_restarts,
)
from e2e.harness.product import Event


def test_pages_newest_first_merge_into_one_oldest_first_log() -> None:
    feed = EventFeed()
    log = EventLog(feed.fetch())
    feed.emit(PROVISIONING)
    feed.emit(ONLINE)
    assert [e.event_type for e in log.refresh()] == [PROVISIONING, ONLINE]
    feed.emit(PROVISIONING)
    feed.emit(ONLINE)
    assert [e.event_type for e in log.refresh()] == [PROVISIONING, ONLINE, PROVISIONING, ONLINE]
    assert [e.id for e in log.all()] == [r["id"] for r in feed.rows]


def test_order_is_by_created_at_never_by_id() -> None:
    rows = [
        raw_event(PROVISIONING, "ws", T0, event_id="ffffffff-0000-4000-8000-000000000000"),
        raw_event(
            ONLINE, "ws", T0 + timedelta(seconds=1), event_id="00000000-0000-4000-8000-000000000001"
        ),
    ]
    log = EventLog(lambda: [Event.model_validate(r) for r in reversed(rows)])
    assert [e.event_type for e in log.refresh()] == [PROVISIONING, ONLINE]


def test_equal_created_at_keeps_the_order_first_seen() -> None:
    feed = EventFeed()
    log = EventLog(feed.fetch())
    first = feed.emit(PROVISIONING)
    second = feed.emit(ONLINE, same_time=True)  # the page says [second, first]
    assert [e.id for e in log.refresh()] == [first["id"], second["id"]]
    third = feed.emit(PROVISIONING, same_time=True)  # seen only in a later page
    assert [e.id for e in log.refresh()] == [first["id"], second["id"], third["id"]]


def test_a_late_seen_event_with_an_earlier_created_at_sorts_before() -> None:
    early = raw_event(FAILED, "ws", T0, {"error": "provisioning failed"})
    late = raw_event(ONLINE, "ws", T0 + timedelta(seconds=5))
    pages = [[late], [late, early]]
    log = EventLog(lambda: [Event.model_validate(r) for r in pages.pop(0)])
    log.refresh()
    assert [e.event_type for e in log.refresh()] == [FAILED, ONLINE]


def test_nanoseconds_beyond_python_microseconds_fall_back_to_the_pages_order() -> None:
    """Go writes nanoseconds; Python keeps microseconds: two events 689 ns apart compare equal,
    and the product's newest-first page order decides."""
    older = raw_event(PROVISIONING, "ws", T0) | {"created_at": "2026-06-19T10:00:00.1234561Z"}
    newer = raw_event(ONLINE, "ws", T0) | {"created_at": "2026-06-19T10:00:00.123456789Z"}
    log = EventLog(lambda: [Event.model_validate(r) for r in (newer, older)])
    assert [e.event_type for e in log.refresh()] == [PROVISIONING, ONLINE]
    assert go_time(T0, nanos=5) == "2026-06-19T10:00:00.000000005Z"


def test_a_mark_stays_valid_when_old_events_fall_out_of_the_window() -> None:
    feed = EventFeed()
    log = EventLog(feed.fetch())
    for n in range(100):
        feed.emit(PROVISIONING if n % 2 == 0 else ONLINE)
    mark = log.mark()
    assert len(mark.seen) == 100
    new = [feed.emit(PROVISIONING), feed.emit(OFFLINE), feed.emit(PROVISIONING), feed.emit(ONLINE)]
    assert len(feed.page()) == 100 and feed.page()[-1]["id"] != feed.rows[0]["id"]
    since = log.since(mark)
    assert [e.id for e in since] == [r["id"] for r in new]
    assert len(log.all()) == 104 and log.all()[0].id == feed.rows[0]["id"]  # still remembered


def test_since_without_refresh_asks_nobody() -> None:
    feed = EventFeed()
    calls: list[int] = []

    def fetch() -> list[Event]:
        calls.append(1)
        return feed.fetch()()

    log = EventLog(fetch)
    mark = log.mark()
    feed.emit(PROVISIONING)
    assert log.since(mark, refresh=False) == [] and len(calls) == 1
    assert [e.event_type for e in log.since(mark)] == [PROVISIONING] and len(calls) == 2


def kinds(*types: str) -> list[Event]:
    return [event(t, seconds=n) for n, t in enumerate(types)]


def test_settled_after_n_restarts_needs_n_provisioning_and_online_last() -> None:
    assert settled_after_restarts(kinds(PROVISIONING, ONLINE), 1)
    assert settled_after_restarts(kinds(PROVISIONING, ONLINE, PROVISIONING, ONLINE), 2)
    assert settled_after_restarts(kinds(PROVISIONING, PROVISIONING, ONLINE), 2)  # queued cycles
    assert not settled_after_restarts(kinds(PROVISIONING, ONLINE), 2)
    assert not settled_after_restarts(kinds(PROVISIONING, ONLINE, PROVISIONING), 1)
    assert not settled_after_restarts(kinds(ONLINE), 1)
    assert not settled_after_restarts([], 1)


def test_a_heartbeat_flip_to_online_emits_nothing_so_it_never_settles() -> None:
    """The product flips a workspace online on a heartbeat without an event: a status of
    online after a PROVISIONING is not a register."""
    assert not settled_after_restarts(kinds(PROVISIONING), 1)
    assert not settled_after_restarts(kinds(PROVISIONING, ONLINE, OFFLINE), 1)
    assert not settled_after_restarts(kinds(PROVISIONING, FAILED), 1)


def test_events_outside_the_lifecycle_do_not_unsettle() -> None:
    events = kinds(PROVISIONING, ONLINE, "WORKSPACE_DEGRADED", "AGENT_CARD_UPDATED")
    assert settled_after_restarts(events, 1)


def test_last_failure_is_the_latest_provision_failed() -> None:
    assert last_failure(kinds(PROVISIONING, ONLINE)) is None
    events = [
        event(FAILED, 1, {"error": "provisioning failed", "source": "provision_timeout_sweep"}),
        event(ONLINE, 2),
        event(FAILED, 3, {"error": "provisioning failed"}),
        event(ONLINE, 4),
    ]
    failure = last_failure(events)
    assert failure is not None and failure.payload == {"error": "provisioning failed"}
