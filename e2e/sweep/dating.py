"""How old a resource is and when it was last active, from the timestamps the platform gives.

The product's workspace rows carry no `created_at`; its events do (newest first, at most 100).
So a workspace's age is the age of its oldest visible event — a lower bound on its real age,
which is the safe direction for "old enough to delete" — and its last activity is its newest
event. A timestamp without a zone is never read as UTC: the resource's age is unknown and it
is kept (a tenant in UTC-5 would otherwise look five hours older than it is).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


class UnknownTime(ValueError):
    """A timestamp that cannot be placed on the UTC axis."""


def utc(value: object) -> datetime:
    """A zoned timestamp (datetime or ISO 8601 text with Z or an offset) as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UnknownTime(f"not an ISO 8601 time: {value!r}") from None
    else:
        raise UnknownTime(f"no timestamp ({type(value).__name__})")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise UnknownTime(f"timestamp without a zone: {value!s} (not assumed to be UTC)")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Dates:
    """What is known about a resource's time: first seen and last active, or why not."""

    first: datetime | None = None
    last: datetime | None = None
    source: str = ""
    unknown: str | None = None  # why the age is unknown

    def age_minutes(self, now: datetime) -> float | None:
        return None if self.first is None else (now - self.first).total_seconds() / 60

    def idle_minutes(self, now: datetime) -> float | None:
        return None if self.last is None else (now - self.last).total_seconds() / 60


def from_times(values: Iterable[object], source: str) -> Dates:
    """First and last of some timestamps; any one without a zone makes the age unknown."""
    times = []
    for value in values:
        try:
            times.append(utc(value))
        except UnknownTime as exc:
            return Dates(source=source, unknown=f"{source}: {exc}")
    if not times:
        return Dates(source=source)  # no evidence here; not a reason to distrust the rest
    return Dates(min(times), max(times), source)


def combine(*dates: Dates) -> Dates:
    """All evidence together: the oldest first sighting, the newest activity. One unknown
    timestamp anywhere makes the whole age unknown (never guess across a zone)."""
    for d in dates:
        if d.unknown:
            return d
    firsts = [d.first for d in dates if d.first is not None]
    lasts = [d.last for d in dates if d.last is not None]
    if not firsts or not lasts:
        sources = ", ".join(d.source for d in dates) or "nothing"
        return Dates(unknown=f"no timestamp in {sources}")
    return Dates(min(firsts), max(lasts), " + ".join(d.source for d in dates if d.first))


def parse_now(text: str | None) -> datetime:
    """`--now` (tests) or the clock."""
    return datetime.now(UTC) if text is None else utc(text)
