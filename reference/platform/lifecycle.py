"""Workspace lifecycle: every status transition, as the product makes it.

- create: row `provisioning` + `WORKSPACE_PROVISIONING`, then the first provision;
- register (the box's agent): `online` + `WORKSPACE_ONLINE {url, agent_card, delivery_mode}`,
  every time; the plugin reconcile follows a transition to online;
- heartbeat: refreshes liveness; a heartbeat while `provisioning` flips to `online` with no
  event at all (the product's inline UPDATE … CASE), one while `offline`/`failed` recovers with
  `WORKSPACE_ONLINE` (`{}` / `{"recovered_from": …}`);
- liveness expiry: `offline` + `WORKSPACE_OFFLINE {}`, then an automatic restart;
- manual restart: `provisioning` + `WORKSPACE_PROVISIONING` at once, the cycle after;
- delete: every descendant removed first, boxes stopped, `WORKSPACE_REMOVED`.

Registers and heartbeats count only from the workspace's current instance: a replaced box is
told 409 and stops (the product's register is not known to check; the harness never relies on
the check, and it keeps a dying box from flipping a newer one's status).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reference.config import StackConfig
from reference.platform.boxes import BoxError, Boxes
from reference.platform.cycles import Cycles, provisioning_event
from reference.platform.jobs import Jobs
from reference.platform.liveness import Liveness
from reference.platform.plugins import load_bundle
from reference.platform.reconcile import Reconciler
from reference.platform.store import Store, Workspace

log = logging.getLogger(__name__)


class Conflict(Exception):
    """The request contradicts the workspace's state (409)."""


class Unreachable(Exception):
    """The box could not be reached (plugin push): `status` and `body` are the answer."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error"))
        self.status = status
        self.body = body


@dataclass
class Lifecycle:
    config: StackConfig
    store: Store
    cycles: Cycles
    reconciler: Reconciler
    boxes: Boxes
    jobs: Jobs
    liveness: Liveness
    clock: Callable[[], float] = time.monotonic

    # -- start-up: resume what a previous platform process left ------------------------------
    def resume(self) -> None:
        for ws in self.store.workspaces():
            if ws.status == "online":
                self.liveness.refresh(ws.id)
            elif ws.status == "provisioning":
                # the previous process may have died between launch and register
                if ws.provisions == 0:
                    self.jobs.submit(self.cycles.first_provision, ws.id)
                else:
                    self.cycles.restart_by_id(ws.id, "resume")
            elif ws.status == "offline":
                self.cycles.restart_by_id(ws.id, "offline")

    # -- create and manual restart -------------------------------------------------------------
    def create(self, **fields: Any) -> Workspace:
        ws = self.store.add_workspace(
            event=(
                "WORKSPACE_PROVISIONING",
                {"name": fields["name"], "tier": fields["tier"], "runtime": fields["runtime"]},
            ),
            **fields,
        )
        self.jobs.submit(self.cycles.first_provision, ws.id)
        return ws

    def restart(self, ws: Workspace, body_template: str | None) -> None:
        """Answered at once: `provisioning` and the event now, the stop and the box after."""
        self.store.update(ws.id, status="provisioning", url="", event=provisioning_event(ws))
        self.jobs.submit(self.cycles.manual_cycle, ws.id, body_template)

    # -- box → platform ------------------------------------------------------------------------
    def _current(self, ws_id: str, instance_id: str, wait: bool = True) -> Workspace:
        """The workspace if `instance_id` is its current box; waits out a provision under way
        (the box can register before the control plane's answer is recorded)."""
        ws = self.store.workspace(ws_id)
        if ws is not None and ws.status != "removed" and ws.instance_id != instance_id and wait:
            gate = self.cycles.gates(ws_id)
            if gate.acquire(timeout=30):
                gate.release()
            ws = self.store.workspace(ws_id)
        if ws is None or ws.status == "removed":
            raise Conflict(f"workspace {ws_id} is removed")
        if ws.instance_id != instance_id:
            raise Conflict(f"instance {instance_id} is not the current box of workspace {ws_id}")
        return ws

    def register(self, ws_id: str, instance_id: str, url: str, card: dict[str, Any]) -> Workspace:
        ws = self._current(ws_id, instance_id)
        self.liveness.refresh(ws_id)
        self.cycles.launched_at.pop(ws_id, None)
        updated = self.store.update(
            ws_id,
            status="online",
            url=url,
            agent_card=card,
            last_sample_error="",
            event=("WORKSPACE_ONLINE", {"url": url, "agent_card": card, "delivery_mode": "push"}),
        )
        if ws.status != "online":
            self.reconciler.trigger(ws_id)
        return updated

    def heartbeat(self, ws_id: str, instance_id: str) -> Workspace:
        if instance_id in self.cycles.retiring:
            # a box being stopped: its beat neither re-arms liveness nor flips status, and it
            # does not wait for the provision under way (a handler thread each, at 200 boxes)
            return self._current(ws_id, instance_id, wait=False)
        ws = self._current(ws_id, instance_id)
        self.liveness.refresh(ws_id)
        if ws.status == "provisioning":
            ws = self.store.update(ws_id, status="online")  # no event, as in the product
        elif ws.status in ("offline", "degraded"):
            ws = self.store.update(ws_id, status="online", event=("WORKSPACE_ONLINE", {}))
        elif ws.status == "failed":
            ws = self.store.update(
                ws_id, status="online", event=("WORKSPACE_ONLINE", {"recovered_from": "failed"})
            )
        else:
            return ws
        self.reconciler.trigger(ws_id)
        return ws

    def boot_failed(self, ws_id: str, instance_id: str, error: str) -> None:
        """What the product's bootstrap watcher reports when a box's boot fails."""
        self._current(ws_id, instance_id)
        self.cycles.fail(
            ws_id, {"error": error, "log_tail": error[-2000:], "source": "bootstrap_watcher"}
        )

    # -- liveness and timeouts (called by the watchers) ----------------------------------------
    def went_offline(self, ws_id: str) -> None:
        ws = self.store.workspace(ws_id)
        if ws is None or ws.status in ("removed", "paused", "hibernated"):
            return
        self.store.update(ws_id, status="offline", event=("WORKSPACE_OFFLINE", {}))
        self.cycles.restart_by_id(ws_id, "offline")

    def provision_timed_out(self, ws_id: str) -> None:
        ws = self.store.workspace(ws_id)
        if ws is None or ws.status != "provisioning":
            return
        timeout = self.config.timings.provision_timeout_s
        self.cycles.fail(
            ws_id,
            {
                "error": "provisioning timed out — container started but never called "
                "/registry/register. Check the workspace's boot log.",
                "timeout_secs": round(timeout),
                "runtime": ws.runtime,
                "source": "provision_timeout_sweep",
            },
        )

    # -- plugins -------------------------------------------------------------------------------
    def install_plugin(self, ws: Workspace, name: str, source: str) -> None:
        """Push to the running box, then an automatic restart (always, on SaaS)."""
        files = load_bundle(self.config.plugins_root, name)
        if not ws.instance_id:
            raise Unreachable(503, {"error": "workspace container not running"})
        try:
            self.boxes.push_plugin(ws.instance_id, name, files)
        except BoxError as exc:
            log.warning("plugin %s to %s: %s", name, ws.id, exc)
            raise Unreachable(502, {"error": "failed to deliver plugin to workspace EC2"}) from exc
        self.cycles.restart_by_id(ws.id, "plugin_install")
        self.store.record_plugin(ws.id, name, source, ws.provisions)

    # -- removal ------------------------------------------------------------------------------
    def delete(self, ws: Workspace, descendants: list[Workspace], prune: bool) -> list[str]:
        """Mark all removed first, then stop every box; the stops that failed."""
        doomed = [*descendants, ws]
        for row in doomed:
            self.store.update(row.id, status="removed", url="")
            self.liveness.clear(row.id)
            self.cycles.auto.forget(row.id)
            self.cycles.launched_at.pop(row.id, None)
        failures = []
        for row in doomed:
            with self.cycles.gates(row.id):  # a provision under way finishes first
                current = self.store.workspace(row.id)
                assert current is not None
                failed = self.cycles.stop(current, prune=prune)
            if failed:
                failures.append(failed)
        for row in descendants:
            self.store.add_event(row.id, "WORKSPACE_REMOVED", {})
        self.store.add_event(ws.id, "WORKSPACE_REMOVED", {"cascade_deleted": len(descendants)})
        return failures
