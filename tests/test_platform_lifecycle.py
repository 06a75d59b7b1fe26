"""Status transitions (reference/platform/lifecycle.py) as the product makes them (registry.go,
liveness.go, workspace_restart.go), with a real Store, a recording control plane, inline jobs
and a driven clock: which transition emits which event, and in which order."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from support.clock import FakeClock
from support.platform_rows import FakeCp, InlineJobs, write_tree

from reference.config import StackConfig
from reference.platform.boxes import Boxes
from reference.platform.cp_client import CpClient
from reference.platform.cycles import Cycles
from reference.platform.jobs import Jobs
from reference.platform.lifecycle import Conflict, Lifecycle
from reference.platform.liveness import Liveness
from reference.platform.reconcile import Reconciler
from reference.platform.store import Store

CARD = {"name": "plain"}


class Triggers:
    """The reconciler as the lifecycle sees it: which workspaces it was asked to reconcile."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def trigger(self, ws_id: str) -> None:
        self.asked.append(ws_id)


class World:
    def __init__(self, tmp_path: Path) -> None:
        root = write_tree(tmp_path / "templates", {"t/config.yaml": "runtime: claude-code\n"})
        self.config = StackConfig(state_dir=tmp_path / "state", template_roots=[root])
        self.store = Store(self.config.db_path)
        self.cp, self.clock, self.jobs = FakeCp(), FakeClock(), cast(Jobs, InlineJobs())
        self.liveness = Liveness(self.config.timings.liveness_ttl_s, self.clock)
        self.cycles = Cycles(self.config, self.store, cast(CpClient, self.cp), self.jobs,
                             self.liveness, self.clock, lambda _: None)  # fmt: skip
        self.reconciler = Triggers()
        self.life = Lifecycle(self.config, self.store, self.cycles,
                              cast(Reconciler, self.reconciler), cast(Boxes, None), self.jobs,
                              self.liveness, self.clock)  # fmt: skip

    def online(self, name: str = "w") -> tuple[str, str]:
        """A created, provisioned and registered workspace: (id, its instance)."""
        ws = self.life.create(**self.fields(name))
        instance = self.current(ws.id)
        self.life.register(ws.id, instance, "http://10.0.0.9:8000", CARD)
        return ws.id, instance

    def fields(self, name: str) -> dict[str, Any]:
        return {"name": name, "parent_id": None, "template": "t", "runtime": "claude-code",
                "model": "m", "role": "", "tier": 4, "compute": {}, "secrets": {},
                "declared_plugins": [], "token": "wst-x"}  # fmt: skip

    def current(self, ws_id: str) -> str:
        ws = self.store.workspace(ws_id)
        assert ws is not None
        return ws.instance_id

    def status(self, ws_id: str) -> str:
        ws = self.store.workspace(ws_id)
        assert ws is not None
        return ws.status

    def events(self, ws_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(e["event_type"], e["payload"]) for e in reversed(self.store.events(ws_id))]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_register_emits_online_with_url_card_and_delivery_mode_every_time(world: World) -> None:
    ws_id, instance = world.online()
    world.life.register(ws_id, instance, "http://10.0.0.9:8000", CARD)
    online = ("WORKSPACE_ONLINE", {"url": "http://10.0.0.9:8000", "agent_card": CARD,
                                   "delivery_mode": "push"})  # fmt: skip
    assert world.events(ws_id)[1:] == [online, online]
    assert world.reconciler.asked == [ws_id]  # only the transition to online reconciles


def test_a_heartbeat_while_provisioning_flips_to_online_with_no_event(world: World) -> None:
    ws = world.life.create(**world.fields("w"))
    world.life.heartbeat(ws.id, world.current(ws.id))
    assert world.status(ws.id) == "online"
    assert [kind for kind, _ in world.events(ws.id)] == ["WORKSPACE_PROVISIONING"]
    assert world.reconciler.asked == [ws.id]  # the flip still fires the reconcile


@pytest.mark.parametrize(
    ("status", "payload"),
    [("offline", {}), ("degraded", {}), ("failed", {"recovered_from": "failed"})],
)
def test_a_heartbeat_recovers_offline_degraded_and_failed_with_online(
    world: World, status: str, payload: dict[str, Any]
) -> None:
    ws_id, instance = world.online()
    world.store.update(ws_id, status=status)
    world.life.heartbeat(ws_id, instance)
    assert world.status(ws_id) == "online"
    assert world.events(ws_id)[-1] == ("WORKSPACE_ONLINE", payload)


def test_a_heartbeat_while_online_only_refreshes_liveness(world: World) -> None:
    ws_id, instance = world.online()
    world.clock.advance(world.config.timings.liveness_ttl_s - 0.01)
    world.life.heartbeat(ws_id, instance)
    world.clock.advance(world.config.timings.liveness_ttl_s - 0.01)
    assert world.liveness.expired() == []
    assert len(world.events(ws_id)) == 2


def test_liveness_expiry_goes_offline_with_an_empty_payload_then_restarts(world: World) -> None:
    ws_id, instance = world.online()
    world.clock.advance(world.config.timings.liveness_ttl_s)
    [expired] = world.liveness.expired()
    world.life.went_offline(expired)
    kinds = world.events(ws_id)
    assert kinds[2] == ("WORKSPACE_OFFLINE", {})
    assert kinds[3][0] == "WORKSPACE_PROVISIONING"  # the automatic restart, after the stop
    assert world.cp.stops[-1][1] == instance and world.current(ws_id) != instance


def test_a_manual_restart_emits_provisioning_before_the_stop(world: World) -> None:
    ws_id, instance = world.online()
    at_stop: list[str] = []
    world.cp.on_stop = lambda: at_stop.append(world.events(ws_id)[-1][0])
    ws = world.store.workspace(ws_id)
    assert ws is not None
    world.life.restart(ws, None)
    assert at_stop == ["WORKSPACE_PROVISIONING"]  # the event came first (restart.go:415)
    assert world.current(ws_id) != instance


def test_a_replaced_box_is_told_409_and_cannot_flip_the_new_one(world: World) -> None:
    ws_id, old = world.online()
    ws = world.store.workspace(ws_id)
    assert ws is not None
    world.life.restart(ws, None)
    with pytest.raises(Conflict):
        world.life.heartbeat(ws_id, old)
    assert world.status(ws_id) == "provisioning"


def test_the_old_boxes_last_heartbeat_during_a_restart_does_not_rearm_liveness(
    world: World,
) -> None:
    ws_id, old = world.online()

    def last_beat() -> None:  # the old box's last heartbeat, while it is being stopped
        world.life.heartbeat(ws_id, old)

    world.cp.on_stop = last_beat
    world.clock.advance(world.config.timings.restart_window_s + 1)
    world.cycles.restart_by_id(ws_id, "plugin_install")
    assert world.current(ws_id) != old and world.status(ws_id) == "provisioning"
    world.clock.advance(world.config.timings.liveness_ttl_s)  # the new box boots slowly
    assert world.liveness.expired() == []
