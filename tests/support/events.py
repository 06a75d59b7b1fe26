"""Product events as `GET /events/:workspaceId` answers them (PRODUCT-API "Events"): uuid ids
that say nothing about order, Go RFC 3339 `created_at` with nanoseconds, newest first, at most
100 per answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from e2e.harness.product import Event

T0 = datetime(2026, 6, 19, 10, 0, 0, tzinfo=UTC)
WINDOW = 100


def go_time(at: datetime, nanos: int = 0) -> str:
    """How Go's time.Time marshals to JSON (RFC 3339 with up to 9 fractional digits)."""
    frac = at.microsecond * 1000 + nanos
    return at.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac:09d}".rstrip("0") if frac else "") + "Z"


def raw_event(
    event_type: str,
    workspace_id: str,
    at: datetime,
    payload: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "workspace_id": workspace_id,
        "payload": payload if payload is not None else {},
        "created_at": go_time(at),
    }


def event(
    event_type: str,
    seconds: float = 0.0,
    payload: dict[str, Any] | None = None,
    workspace_id: str = "ws",
) -> Event:
    """One parsed event, `seconds` after T0."""
    at = T0 + timedelta(seconds=seconds)
    return Event.model_validate(raw_event(event_type, workspace_id, at, payload))


class EventFeed:
    """A workspace's events as the product keeps them (oldest first) and serves them."""

    def __init__(self, workspace_id: str = "ws") -> None:
        self.workspace_id = workspace_id
        self.rows: list[dict[str, Any]] = []
        self.clock = T0

    def emit(
        self, event_type: str, payload: dict[str, Any] | None = None, *, same_time: bool = False
    ) -> dict[str, Any]:
        if not same_time:
            self.clock += timedelta(milliseconds=10)
        row = raw_event(event_type, self.workspace_id, self.clock, payload)
        self.rows.append(row)
        return row

    def page(self) -> list[dict[str, Any]]:
        """Newest first, at most 100; equal `created_at` keep the product's order."""
        return list(reversed(self.rows))[:WINDOW]

    def fetch(self) -> Callable[[], list[Event]]:
        return lambda: [Event.model_validate(r) for r in self.page()]
