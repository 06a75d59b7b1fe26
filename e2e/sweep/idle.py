"""`--wait-idle-minutes N --run-id X`: wait (at most N minutes) until no other run is active on
the tenant, deleting nothing. A run is active while one of its workspaces had an event within
`--older-than-minutes`. The staging smoke calls this first, as a backstop for Gitea < 1.26,
which ignores `concurrency` (two runs starting in the same instant can still both see idle).

A workspace whose activity cannot be told (events unreadable, a zoneless timestamp) does not
hold the lock — a broken leftover must not block every later run — but is named."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from e2e.harness.names import parse_name
from e2e.harness.waits import WaitTimeout, wait_for
from e2e.sweep.tenant import RESOURCE_ERRORS, Tenant, describe_error


@dataclass
class Activity:
    runs: dict[str, float] = field(default_factory=dict)  # run → minutes since its last event
    undated: list[str] = field(default_factory=list)

    def describe(self) -> str:
        busy = ", ".join(f"run {r} (last event {m:.1f} min ago)" for r, m in self.runs.items())
        undated = f"; cannot date: {', '.join(self.undated)}" if self.undated else ""
        return (busy or "idle") + undated


def activity(tenant: Tenant, now: datetime, window_minutes: float, own_run: str | None) -> Activity:
    seen = Activity()
    for row in tenant.workspaces():
        parsed = parse_name(row.name)
        if parsed is None or parsed.run == own_run:
            continue
        try:
            dates = tenant.dates(row)
        except RESOURCE_ERRORS as exc:
            seen.undated.append(f"{row.name} ({describe_error(exc)})")
            continue
        idle = dates.idle_minutes(now)
        if dates.unknown or idle is None:
            seen.undated.append(f"{row.name} ({dates.unknown})")
        elif idle < window_minutes:
            seen.runs[parsed.run] = min(idle, seen.runs.get(parsed.run, idle))
    return seen


def wait_idle(
    tenant: Tenant,
    *,
    timeout_minutes: float,
    window_minutes: float,
    own_run: str | None,
    poll_s: float = 30.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[bool, str]:
    """(idle, what was last seen). A listing that is refused ends the wait with its error."""
    try:
        outcome = wait_for(
            "no other e2e run active",
            lambda: activity(tenant, clock(), window_minutes, own_run),
            lambda seen: not seen.runs,
            timeout_s=timeout_minutes * 60,
            poll_s=poll_s,
            describe=Activity.describe,
            log_every_s=60,
        )
    except WaitTimeout as exc:
        last = exc.last if isinstance(exc.last, Activity) else None
        return False, last.describe() if last else str(exc)
    return True, outcome.value.describe()
