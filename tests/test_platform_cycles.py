"""Provision and restart cycles (reference/platform/cycles.py): what each path sends the control
plane, under each template-dropping product fault, and what a failure tells the tenant. A real
Store on a tmp dir; the control plane is a recording fake and jobs run inline."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, cast

import pytest
from support.clock import FakeClock
from support.platform_rows import FakeCp, InlineJobs, add_row, write_tree

from reference.config import StackConfig
from reference.platform.cp_client import CpClient
from reference.platform.cycles import Cycles
from reference.platform.jobs import Jobs
from reference.platform.liveness import Liveness
from reference.platform.store import Store

TEMPLATE = {
    "config.yaml": b"runtime: claude-code\nmodel: m\n",
    "prompts/a.md": b"\xff a\r\n",
    "CLAUDE.md": b"not template-owned",
}
SENT = {"config.yaml": TEMPLATE["config.yaml"], "prompts/a.md": TEMPLATE["prompts/a.md"]}
CAUSES = ("create", "manual", "plugin_install", "reconcile", "offline")


class World:
    def __init__(self, tmp_path: Path, faults: frozenset[str], backend: str = "saas") -> None:
        roots = [write_tree(tmp_path / "templates", {f"t/{k}": v for k, v in TEMPLATE.items()})]
        self.config = StackConfig(
            state_dir=tmp_path / "state", faults=faults, backend=backend, template_roots=roots
        )
        self.store = Store(self.config.db_path)
        self.cp = FakeCp()
        self.clock = FakeClock()
        self.slept: list[float] = []
        self.cycles = Cycles(
            self.config,
            self.store,
            cast(CpClient, self.cp),
            cast(Jobs, InlineJobs()),
            Liveness(self.config.timings.liveness_ttl_s, self.clock),
            self.clock,
            self.slept.append,
        )

    def run(self, ws_id: str, cause: str, body_template: str | None = None) -> dict[str, Any]:
        """One provision by `cause`; the request the control plane got."""
        if cause == "create":
            self.cycles.first_provision(ws_id)
        elif cause == "manual":
            self.cycles.manual_cycle(ws_id, body_template)
        else:
            self.clock.advance(self.config.timings.restart_window_s + 1)
            assert self.cycles.restart_by_id(ws_id, cause) == "run"
        return self.cp.provisions[-1]

    def events(self, ws_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(e["event_type"], e["payload"]) for e in reversed(self.store.events(ws_id))]


def sent_files(request: dict[str, Any]) -> dict[str, bytes] | None:
    files = request.get("config_files")
    return None if files is None else {k: base64.b64decode(v) for k, v in files.items()}


DELIVERS = {  # fault → causes whose provision carries the template (every other one: none)
    "": set(CAUSES),
    "restart-drops-template": {"create"},
    "reconcile-drops-template": set(CAUSES) - {"reconcile"},
    "manual-restart-drops-template": set(CAUSES) - {"manual"},
    "drop-prompts": set(CAUSES),
}


@pytest.mark.parametrize("fault", sorted(DELIVERS))
@pytest.mark.parametrize("cause", CAUSES)
def test_delivers_template_per_cause_and_fault(tmp_path: Path, fault: str, cause: str) -> None:
    world = World(tmp_path, frozenset({fault} - {""}))
    assert world.cycles.delivers_template(cause) is (cause in DELIVERS[fault])
    assert world.cycles.delivers_template(cause, body_template="t")  # an explicit one always


@pytest.mark.parametrize("fault", sorted(DELIVERS))
def test_each_path_sends_the_template_bytes_or_nothing_as_the_fault_says(
    tmp_path: Path, fault: str
) -> None:
    world = World(tmp_path, frozenset({fault} - {""}))
    ws = add_row(world.store, template="t")
    expected = {"config.yaml": SENT["config.yaml"]} if fault == "drop-prompts" else SENT
    for cause in CAUSES:
        files = sent_files(world.run(ws.id, cause))
        assert files == (expected if cause in DELIVERS[fault] else None), cause


def test_a_manual_restart_naming_a_template_sends_it_even_when_restarts_drop_it(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, frozenset({"restart-drops-template"}))
    ws = add_row(world.store, template="")
    assert sent_files(world.run(ws.id, "manual", body_template="t")) == SENT


def test_the_docker_backend_sends_the_template_only_at_create(tmp_path: Path) -> None:
    world = World(tmp_path, frozenset(), backend="docker")
    ws = add_row(world.store, template="t")
    assert [sent_files(world.run(ws.id, c)) is not None for c in CAUSES] == [
        True,
        False,
        False,
        False,
        False,
    ]


def test_the_request_carries_org_runtime_tier_persistence_plugins_and_token(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, frozenset())
    ws = add_row(
        world.store, template="t", declared=["seo-all"], compute={"data_persistence": "persist"}
    )
    request = world.run(ws.id, "create")
    assert {k: request[k] for k in ("org_id", "workspace_id", "runtime", "tier")} == {
        "org_id": world.config.org_id,
        "workspace_id": ws.id,
        "runtime": "claude-code",
        "tier": 4,
    }
    assert request["data_persistence"] == "persist"
    assert request["env"]["MOLECULE_DECLARED_PLUGINS"] == "seo-all"
    assert request["env"]["MOLECULE_WORKSPACE_TOKEN"] == ws.token
    stored = world.store.workspace(ws.id)
    assert stored is not None and stored.instance_id == "i-00000000000000001"


# -- plugins at boot --------------------------------------------------------------------------


def test_boot_plugins_are_declared_plus_installed_on_every_provision(tmp_path: Path) -> None:
    world = World(tmp_path, frozenset())
    ws = add_row(world.store, template="t", declared=["seo-all"])
    world.run(ws.id, "create")
    world.store.record_plugin(ws.id, "extra", "local://extra", 1)
    for cause in ("plugin_install", "manual", "offline"):
        plugins = world.run(ws.id, cause)["env"]["MOLECULE_DECLARED_PLUGINS"]
        assert plugins == "local://extra,seo-all", cause


def test_fault_plugin_lost_boot_installs_a_plugin_only_right_after_its_install(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, frozenset({"plugin-lost"}))
    ws = add_row(world.store, template="t", declared=["seo-all"])
    assert world.run(ws.id, "create")["env"]["MOLECULE_DECLARED_PLUGINS"] == "seo-all"
    world.store.record_plugin(ws.id, "extra", "local://extra", 1)  # installed on box 1
    assert world.run(ws.id, "plugin_install")["env"]["MOLECULE_DECLARED_PLUGINS"] == "local://extra"
    assert world.run(ws.id, "offline")["env"]["MOLECULE_DECLARED_PLUGINS"] == ""


# -- order, stops, failures ------------------------------------------------------------------


def test_an_automatic_cycle_stops_first_then_emits_provisioning(tmp_path: Path) -> None:
    world = World(tmp_path, frozenset())
    ws = add_row(world.store, template="t")
    world.run(ws.id, "create")
    world.store.update(ws.id, status="online")
    seen_at_stop: list[list[str]] = []
    world.cp.on_stop = lambda: seen_at_stop.append([e for e, _ in world.events(ws.id)])
    world.run(ws.id, "plugin_install")
    assert seen_at_stop == [["WORKSPACE_PROVISIONING"]]  # only the create's, at the stop
    assert world.events(ws.id)[-1] == (
        "WORKSPACE_PROVISIONING",
        {"name": "w", "tier": 4, "runtime": "claude-code"},
    )
    assert world.slept == []  # it was online: no pause


def test_an_automatic_cycle_on_a_provisioning_workspace_pauses_first(tmp_path: Path) -> None:
    world = World(tmp_path, frozenset())
    ws = add_row(world.store, template="t")
    world.run(ws.id, "create")
    world.run(ws.id, "offline")
    assert world.slept == [world.config.timings.provisioning_pause_s]


@pytest.mark.parametrize("status", ["removed", "paused", "hibernated"])
def test_an_automatic_cycle_skips_removed_paused_and_hibernated(
    tmp_path: Path, status: str
) -> None:
    world = World(tmp_path, frozenset())
    ws = add_row(world.store, template="t", status=status)
    world.clock.advance(100)
    world.cycles.restart_by_id(ws.id, "offline")
    assert world.cp.provisions == [] and world.cp.stops == []


def test_a_stop_is_tried_three_times_then_the_cycle_goes_on(tmp_path: Path) -> None:
    world = World(tmp_path, frozenset())
    ws = add_row(world.store, template="t")
    first = world.run(ws.id, "create")
    world.cp.failing_stops = 3
    world.run(ws.id, "manual")
    assert len(world.cp.stops) == 3 and len(world.cp.provisions) == 2
    scale = world.config.timings.scale
    assert world.slept == [scale * 1, scale * 2]  # the product's 1 s, 2 s backoff, scaled
    assert first["workspace_id"] == ws.id


def test_over_the_cap_fails_with_provisioning_failed_and_never_calls_the_cp(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, frozenset())
    write_tree(world.config.template_roots[0], {"big/config.yaml": b"x" * (256 * 1024 + 1)})
    ws = add_row(world.store, template="big")
    world.cycles.first_provision(ws.id)
    assert world.cp.provisions == []
    stored = world.store.workspace(ws.id)
    assert stored is not None
    assert (stored.status, stored.last_sample_error) == ("failed", "provisioning failed")
    assert world.events(ws.id)[-1] == (
        "WORKSPACE_PROVISION_FAILED",
        {"error": "provisioning failed"},
    )


def test_a_cp_refusal_says_only_provisioning_failed(tmp_path: Path) -> None:
    world = World(tmp_path, frozenset())
    world.cp.refusal = "config secret for workspace w would be 90000 bytes, over the limit"
    ws = add_row(world.store, template="t")
    world.cycles.first_provision(ws.id)
    assert world.events(ws.id)[-1] == (
        "WORKSPACE_PROVISION_FAILED",
        {"error": "provisioning failed"},
    )
    stored = world.store.workspace(ws.id)
    assert stored is not None and (stored.status, stored.instance_id) == ("failed", "")


def test_a_workspace_without_a_template_is_sent_a_generated_config(tmp_path: Path) -> None:
    world = World(tmp_path, frozenset())
    ws = add_row(world.store, template="")
    files = sent_files(world.run(ws.id, "create"))
    assert files is not None and "config.yaml" in files
