"""settle.py: the waits that make the gate deterministic, run unchanged (real Workspace,
EventLog, PlatformClient, wait_for) against a scripted world (support.world) that moves one
step per look. Each test says which step the wait may return at, so "too early" fails as
surely as "never"."""

from __future__ import annotations

import time

import pytest
from support.world import SHORT, TINY, Step, World, online, provisioning

from e2e.harness.events import FAILED, OFFLINE, ONLINE, PROVISIONING
from e2e.harness.identity import Observation
from e2e.harness.settle import (
    dead,
    restart_or_dropped,
    wait_fresh_box,
    wait_reconciled,
    wait_stable,
)
from e2e.harness.waits import WaitAborted, WaitTimeout
from e2e.harness.workspace import Marker, Workspace

CREATED = online("i-1", PROVISIONING, ONLINE)  # step 0: the first boot registered
SWEEP_FAILURE = {  # the product's provision-timeout sweeper (a late box still comes online)
    "error": "provisioning timed out",
    "timeout_secs": 600,
    "runtime": "claude-code",
    "source": "provision_timeout_sweep",
}


def ready(*after: Step, **settings: object) -> tuple[World, Workspace, Marker]:
    """A world at its first stable box (step 0), the marker taken there, `after` to come."""
    world = World([CREATED, *after])
    ws = world.workspace(**settings)
    assert ws.observe().stable and world.index == 0
    return world, ws, ws.mark()


# -- wait_fresh_box --------------------------------------------------------------------------


def test_the_fresh_box_is_the_new_instance_once_it_registered() -> None:
    world, ws, marker = ready(
        provisioning(PROVISIONING, running=("i-1",)),
        provisioning(pending=("i-2",)),
        provisioning(running=("i-2",)),
        online("i-2", ONLINE),
    )
    assert wait_fresh_box(ws, marker, "manual restart").instance_id == "i-2"
    assert world.index == 4


def test_n_cycles_need_n_provisioning_not_the_first_box_that_looks_settled() -> None:
    world, ws, marker = ready(
        provisioning(PROVISIONING, running=("i-1",)),
        online("i-2", ONLINE),
        online("i-2"),
        online("i-2"),  # the first cycle is done: stable, registered, new — but one of two
        provisioning(PROVISIONING, running=("i-2",)),
        online("i-3", ONLINE),
    )
    assert wait_fresh_box(ws, marker, "2 manual restarts", cycles=2).instance_id == "i-3"
    assert world.index == 6


def test_a_heartbeat_flip_to_online_is_not_the_register() -> None:
    """The product flips the status on a heartbeat and emits nothing: until the ONLINE event
    after the PROVISIONING, the box may still be booting its template in."""
    world, ws, marker = ready(
        provisioning(PROVISIONING, running=("i-1",)),
        online("i-2"),
        online("i-2"),
        online("i-2"),
        online("i-2", ONLINE),
    )
    assert wait_fresh_box(ws, marker, "manual restart").instance_id == "i-2"
    assert world.index == 5


def test_n_cycles_need_n_new_instances_even_when_the_events_say_settled() -> None:
    world, ws, marker = ready(
        provisioning(PROVISIONING, PROVISIONING, running=("i-1",)),
        online("i-2", ONLINE),
        online("i-2"),
        online("i-2"),  # events: 2 PROVISIONING, ONLINE last — but only one new box
        online("i-3"),
    )
    assert wait_fresh_box(ws, marker, "2 manual restarts", cycles=2).instance_id == "i-3"
    assert world.index == 5


def test_the_current_box_must_be_the_newest_one_launched() -> None:
    _, ws, marker = ready(
        provisioning(PROVISIONING, running=("i-1",)),
        # registered, but a newer instance is already there; it dies, the older one stays:
        # that one is not the restart's box
        Step("online", running=("i-2",), pending=("i-3",), emit=(ONLINE,)),
        online("i-2"),
        profile=SHORT,
    )
    with pytest.raises(WaitTimeout):
        wait_fresh_box(ws, marker, "manual restart")


def test_the_markers_box_never_counts_whatever_the_events_say() -> None:
    world, ws, marker = ready(
        online("i-1", PROVISIONING),
        online("i-1", ONLINE),
        online("i-1"),
        online("i-2", ONLINE),
    )
    assert wait_fresh_box(ws, marker, "manual restart").instance_id == "i-2"
    assert world.index == 4


@pytest.mark.parametrize("offline", [True, False])
def test_crash_recovery_requires_the_offline_event(offline: bool) -> None:
    emitted = (OFFLINE, PROVISIONING) if offline else (PROVISIONING,)
    profile = TINY if offline else SHORT  # only the wait that must time out is short
    _, ws, marker = ready(provisioning(*emitted), online("i-2", ONLINE), profile=profile)
    if offline:
        assert wait_fresh_box(ws, marker, "crash recovery", require=(OFFLINE,)).instance_id == "i-2"
    else:
        with pytest.raises(WaitTimeout):
            wait_fresh_box(ws, marker, "crash recovery", require=(OFFLINE,))


def test_a_timeout_says_what_it_last_saw_and_the_event_timeline() -> None:
    # one step to its final state: the last look is known however slowly the machine polls
    _, ws, marker = ready(Step("online", running=("i-2",), emit=(PROVISIONING,)), profile=SHORT)
    with pytest.raises(WaitTimeout) as info:
        wait_fresh_box(ws, marker, "manual restart")
    text = str(info.value)
    assert "fresh box after manual restart: not reached within 0.3s" in text
    assert "last observed: status=online instances=[i-2:running] ssm=Online" in text
    assert "events:" in text and text.count("WORKSPACE_PROVISIONING") == 2
    assert "box i-2: diagnostics unavailable" in text  # best effort, never hides the timeout


# -- restart_or_dropped ----------------------------------------------------------------------


def test_no_sign_of_a_restart_within_the_grace_is_a_drop() -> None:
    world, ws, marker = ready(online("i-1"), profile=SHORT)
    started = time.monotonic()
    assert restart_or_dropped(ws, marker, "plugin install local://seo-all") is None
    assert time.monotonic() - started >= SHORT.auto_restart_grace_s
    assert world.index == 1 and ws.last_observation is not None


def test_a_provisioning_inside_the_grace_leads_to_the_fresh_box() -> None:
    world, ws, marker = ready(
        online("i-1"),
        online("i-1", PROVISIONING),
        provisioning(pending=("i-2",)),
        online("i-2", ONLINE),
    )
    fresh = restart_or_dropped(ws, marker, "plugin install local://seo-all")
    assert fresh is not None and fresh.instance_id == "i-2" and world.index == 4


# -- wait_reconciled -------------------------------------------------------------------------


def test_nothing_declared_nothing_to_wait_for() -> None:
    world, ws, _ = ready()
    assert wait_reconciled(ws, []) is True and world.gets == 1


def test_the_reconcile_restart_is_waited_for_with_platform_looks_only() -> None:
    """Until a restart followed the first online, no box can be the reconciled one: the looks
    ask the platform only, and EC2/SSM are asked once it began."""
    world, ws, _ = ready(
        online("i-1"),
        online("i-1"),
        online("i-1"),
        provisioning(PROVISIONING, running=("i-1",)),
        provisioning(pending=("i-2",)),
        online("i-2", ONLINE),
    )
    calls_before = world.ec2_calls
    assert wait_reconciled(ws, ["seo-all"]) is True
    assert ws.last_observation is not None and ws.last_observation.instance_id == "i-2"
    assert all(step >= 4 for step in world.ec2_at[calls_before:]), world.ec2_at
    assert "reconcile" in ws.stats.timings


def test_a_reconcile_that_never_comes_is_a_note() -> None:
    _, ws, _ = ready(online("i-1"), profile=SHORT)
    assert wait_reconciled(ws, ["seo-all"]) is False
    assert ws.stats.notes == [f"reconcile: not seen within {SHORT.reconcile_s:.0f} s"]


def test_a_reconcile_that_never_comes_fails_where_the_target_must_reconcile() -> None:
    _, ws, _ = ready(online("i-1"), require_reconcile=True, profile=SHORT)
    with pytest.raises(
        AssertionError, match=r"reconcile: not seen within \d+ s \(E2E_REQUIRE_RECONCILE\)"
    ):
        wait_reconciled(ws, ["seo-all"])
    assert ws.stats.notes == []


# -- wait_stable and dead() ------------------------------------------------------------------


def test_a_provision_timeout_failure_is_transient_the_late_box_still_comes() -> None:
    world = World(
        [
            provisioning(PROVISIONING),
            Step("failed", emit=((FAILED, SWEEP_FAILURE),)),
            Step("failed", running=("i-1",)),
            online("i-1", ONLINE),
        ]
    )
    ws = world.workspace()
    assert wait_stable(ws).instance_id == "i-1" and world.index == 3


def test_a_real_failure_stops_the_wait_at_once_and_says_why() -> None:
    world = World(
        [
            provisioning(PROVISIONING),
            Step("failed", emit=((FAILED, {"error": "provisioning failed"}),)),
        ]
    )
    ws = world.workspace()
    with pytest.raises(
        WaitAborted,
        match=r"workspace is failed: WORKSPACE_PROVISION_FAILED \{'error': 'provisioning failed'\}",
    ):
        wait_stable(ws)


def test_dead_says_why_waiting_is_pointless() -> None:
    _, ws, _ = ready()
    assert dead(ws, Observation("removed")) == "workspace is removed"
    assert dead(ws, Observation("provisioning")) is None
    assert dead(ws, Observation("failed"), since=[]) == (
        "workspace is failed: WORKSPACE_PROVISION_FAILED (no event)"
    )
