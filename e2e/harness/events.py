"""A workspace's event log as the harness keeps it: the product answers only the newest 100
events, newest first, with uuid ids that say nothing about order and `created_at` values that
may be equal. So the log remembers every event it has seen (by id), orders them by
`created_at` (ties: the order first seen, older page position first), and a marker is the set
of ids seen so far — "after the marker" means "not seen when the marker was taken", which
stays true when old events fall out of the window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from e2e.harness.product import Event

PROVISIONING = "WORKSPACE_PROVISIONING"
ONLINE = "WORKSPACE_ONLINE"
OFFLINE = "WORKSPACE_OFFLINE"
FAILED = "WORKSPACE_PROVISION_FAILED"
REMOVED = "WORKSPACE_REMOVED"
LIFECYCLE = (PROVISIONING, ONLINE, OFFLINE, FAILED, REMOVED)


@dataclass(frozen=True)
class EventMark:
    """The ids seen at one moment."""

    seen: frozenset[str]


class EventLog:
    def __init__(self, fetch: Callable[[], Sequence[Event]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[int, Event]] = {}
        self._order = 0

    def refresh(self) -> list[Event]:
        """Fetch the window and merge it; every event seen so far, oldest first."""
        page = list(self._fetch())
        with self._lock:
            for event in reversed(page):  # the page is newest first: number oldest first
                if event.id not in self._by_id:
                    self._order += 1
                    self._by_id[event.id] = (self._order, event)
        return self.all()

    def all(self) -> list[Event]:
        with self._lock:
            rows = sorted(self._by_id.values(), key=lambda r: (r[1].created_at, r[0]))
        return [event for _, event in rows]

    def mark(self) -> EventMark:
        self.refresh()
        with self._lock:
            return EventMark(frozenset(self._by_id))

    def since(self, mark: EventMark, refresh: bool = True) -> list[Event]:
        events = self.refresh() if refresh else self.all()
        return [e for e in events if e.id not in mark.seen]


def of_type(events: Iterable[Event], *types: str) -> list[Event]:
    return [e for e in events if e.event_type in types]


def settled_after_restarts(events: Sequence[Event], cycles: int) -> bool:
    """At least `cycles` WORKSPACE_PROVISIONING among `events`, and the latest lifecycle event
    is a WORKSPACE_ONLINE that came after the latest of them (a register, not a heartbeat)."""
    lifecycle = of_type(events, *LIFECYCLE)
    provisioning = of_type(lifecycle, PROVISIONING)
    if len(provisioning) < cycles or not lifecycle:
        return False
    return lifecycle[-1].event_type == ONLINE and lifecycle.index(lifecycle[-1]) > lifecycle.index(
        provisioning[-1]
    )


def last_failure(events: Sequence[Event]) -> Event | None:
    failures = of_type(events, FAILED)
    return failures[-1] if failures else None
