"""The waits that make the gate deterministic: each waits on observed state, bounded by the
profile, and on timeout says what it last saw (diagnostics.describe).

- `wait_stable`: online, one running box, SSM Online.
- `wait_fresh_box`: the box that reflects a trigger — after the marker, at least N
  WORKSPACE_PROVISIONING, the latest lifecycle event a WORKSPACE_ONLINE after them (a
  register: a heartbeat-only flip emits none), at least N instances launched since, the current
  one the newest of them, stable, and not the marker's box.
- `wait_reconciled`: after the first online, the restart the plugin reconcile asks for.
- `restart_or_dropped`: after a trigger whose automatic restart the product may drop (inside
  its window): a sign of the restart within a grace period, or "dropped".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from e2e.harness import diagnostics
from e2e.harness.events import (
    FAILED,
    ONLINE,
    PROVISIONING,
    last_failure,
    of_type,
    settled_after_restarts,
)
from e2e.harness.identity import BoxIdentity, Observation
from e2e.harness.platform import PlatformError
from e2e.harness.product import Event
from e2e.harness.waits import Outcome, WaitAborted, WaitTimeout, wait_for
from e2e.harness.workspace import Marker, Workspace

TRANSIENT = (BotoCoreError, ClientError, PlatformError)
# a provision timeout is transient in the product (the late box still flips it online)
TRANSIENT_FAILURE_SOURCES = ("provision_timeout_sweep",)


def _wait(
    ws: Workspace,
    what: str,
    done: Callable[[Observation], bool],
    timeout_s: float,
    observe: Callable[[], Observation] | None = None,
    abort: Callable[[Observation], str | None] | None = None,
) -> Outcome[Observation]:
    try:
        return wait_for(
            f"{ws.name}: {what}",
            observe or ws.observe,
            done,
            timeout_s=timeout_s,
            poll_s=ws.profile.poll_s,
            describe=Observation.describe,
            abort=abort or (lambda obs: dead(ws, obs)),
            log_every_s=ws.profile.log_every_s,
            transient=TRANSIENT,
        )
    except (WaitTimeout, WaitAborted) as exc:
        raise type(exc)(f"{exc}\n{diagnostics.describe(ws)}") from None


def dead(ws: Workspace, obs: Observation, since: Sequence[Event] | None = None) -> str | None:
    """Why waiting is pointless: removed, or failed for a reason that does not heal."""
    if obs.status == "removed":
        return "workspace is removed"
    if obs.status != "failed":
        return None
    failure = last_failure(since if since is not None else ws.events.refresh())
    payload = (failure.payload or {}) if failure else {}
    if payload.get("source") in TRANSIENT_FAILURE_SOURCES:
        return None
    return f"workspace is failed: {FAILED} {payload or '(no event)'}"


def wait_stable(
    ws: Workspace, what: str = "online and settled", timeout_s: float = 0
) -> BoxIdentity:
    started = time.monotonic()
    outcome = _wait(ws, what, lambda o: o.stable, timeout_s or ws.profile.online_s)
    ws.stats.time("wait", time.monotonic() - started)
    identity = outcome.value.identity
    assert identity is not None
    return identity


def current_stable_identity(ws: Workspace, what: str) -> BoxIdentity:
    """The box as last seen if that look was stable, else wait for a stable one. Any look
    taken before a reading may open its bracket: if the box changed since, the closing look
    differs and the reading is discarded."""
    obs = ws.last_observation
    if obs is not None and obs.stable and obs.identity is not None:
        return obs.identity
    return wait_stable(ws, what)


def wait_fresh_box(
    ws: Workspace, marker: Marker, cause: str, *, cycles: int = 1, require: Sequence[str] = ()
) -> BoxIdentity:
    started = time.monotonic()

    def settled(obs: Observation) -> bool:
        if not obs.stable or obs.identity is None:
            return False
        if marker.identity is not None and obs.instance_id == marker.identity.instance_id:
            return False
        since = ws.events.since(marker.events)
        if any(not of_type(since, kind) for kind in require):
            return False
        if not settled_after_restarts(since, cycles):
            return False
        launched = ws.launched_since(marker)
        return len(launched) >= cycles and launched[-1] == obs.instance_id

    outcome = _wait(ws, f"fresh box after {cause}", settled, ws.profile.restart_s)
    ws.stats.time(f"restart:{cause.split()[0]}", time.monotonic() - started)
    identity = outcome.value.identity
    assert identity is not None
    return identity


def wait_reconciled(ws: Workspace, declared: Sequence[str]) -> bool:
    """After the first online the product installs the declared plugins it has not recorded
    and restarts (unless the box already has the plugin's plugin.yaml). Wait for that
    restart's box, so the reconcile restart's delivery is the one verified every time, not by
    luck. Bounded by `reconcile_s`: when it never comes, the summary says so, and the run
    fails where the target is known to reconcile (`require_reconcile`)."""
    if not declared:
        return True
    started = time.monotonic()

    def look() -> Observation:
        """The events first: until a restart followed the first online, no box can be the
        reconciled one, and a full look's EC2 and SSM calls would be spent on a box that is
        about to be replaced."""
        return ws.observe(candidate=_restarted_after_first_online(ws.events.refresh()))

    def reconciled(obs: Observation) -> bool:
        return obs.stable and _restarted_after_first_online(ws.events.all(), settled=True)

    try:
        _wait(
            ws, f"plugin reconcile of {sorted(declared)}", reconciled, ws.profile.reconcile_s, look
        )
    except WaitTimeout:
        text = f"reconcile: not seen within {ws.profile.reconcile_s:.0f} s"
        if ws.settings.require_reconcile:
            raise AssertionError(f"{ws.name}: {text} (E2E_REQUIRE_RECONCILE)") from None
        ws.stats.note(text)
        return False
    finally:
        ws.stats.time("reconcile", time.monotonic() - started)
    return True


def _restarted_after_first_online(events: Sequence[Event], settled: bool = False) -> bool:
    onlines = [i for i, e in enumerate(events) if e.event_type == ONLINE]
    if not onlines:
        return False
    after = list(events[onlines[0] + 1 :])
    if settled:
        return settled_after_restarts(after, 1)
    return bool(of_type(after, PROVISIONING))


def restart_or_dropped(ws: Workspace, marker: Marker, cause: str) -> BoxIdentity | None:
    """The fresh box, or None when no sign of the automatic restart came within the grace:
    no WORKSPACE_PROVISIONING, status still online, the marker's box still the box."""

    def started(obs: Observation) -> bool:
        if of_type(ws.events.since(marker.events), PROVISIONING) or obs.status != "online":
            return True
        return marker.identity is not None and obs.instance_id != marker.identity.instance_id

    try:
        wait_for(
            f"{ws.name}: a restart after {cause}",
            ws.observe,
            started,
            timeout_s=ws.profile.auto_restart_grace_s,
            poll_s=ws.profile.poll_s,
            describe=Observation.describe,
            log_every_s=ws.profile.log_every_s,
            transient=TRANSIENT,
        )
    except WaitTimeout:
        return None
    return wait_fresh_box(ws, marker, cause)
