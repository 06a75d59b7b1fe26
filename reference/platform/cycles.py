"""Provision and restart cycles: what goes to the control plane, and when.

First provision, manual restarts and automatic restarts (RestartByID) all end in `provision`:
collect the template's files (tenant side), build the control plane's request, record the new
instance. A restart first stops the current box (3 tries, then it goes on anyway, like the
product's cpStopWithRetry). The template-dropping product faults live in `delivers_template`.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from typing import Any

from reference import faults
from reference.config import StackConfig
from reference.platform.cp_client import CpClient, CpError
from reference.platform.jobs import Jobs
from reference.platform.liveness import Liveness
from reference.platform.plugins import boot_sources
from reference.platform.restarts import AutoRestarts, Gates
from reference.platform.store import Store, Workspace
from reference.platform.templates import (
    TemplateError,
    collect_cp_config_files,
    resolve_workspace_template_path,
)

log = logging.getLogger(__name__)

SKIP_STATUSES = ("removed", "paused", "hibernated")
STOP_ATTEMPTS = 3
PROVISION_FAILED = "provisioning failed"  # all a control-plane failure says to the tenant


def generated_config(ws: Workspace) -> dict[str, str]:
    text = f"name: {ws.name}\nruntime: {ws.runtime}\nmodel: {ws.model}\n"
    return {"config.yaml": base64.b64encode(text.encode("utf-8")).decode("ascii")}


def provisioning_event(ws: Workspace) -> tuple[str, dict[str, Any]]:
    return ("WORKSPACE_PROVISIONING", {"name": ws.name, "tier": ws.tier, "runtime": ws.runtime})


class Cycles:
    def __init__(
        self,
        config: StackConfig,
        store: Store,
        cp: CpClient,
        jobs: Jobs,
        liveness: Liveness,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.store = store
        self.cp = cp
        self.jobs = jobs
        self.liveness = liveness
        self.clock = clock
        self.sleep = sleep
        self.gates = Gates()
        window = config.timings.restart_window_s
        if faults.is_on(config.faults, faults.LONG_RESTART_WINDOW):
            window = max(window, faults.LONG_RESTART_WINDOW_S)
        self.auto = AutoRestarts(window, clock)
        self.launched_at: dict[str, float] = {}  # box launched, not registered yet
        self.retiring: set[str] = set()  # boxes a cycle is stopping: their beats do not count

    # -- what a provision delivers -------------------------------------------------------------
    def delivers_template(self, cause: str, body_template: str | None = None) -> bool:
        """Whether this provision sends the workspace's template files (the faults' place)."""
        if cause == "create" or body_template:
            return True
        if self.config.backend == "docker":
            return False  # on purpose: the persistent config volume already holds /configs
        if faults.is_on(self.config.faults, faults.RESTART_DROPS_TEMPLATE):
            return False
        if cause == "manual":
            return not faults.is_on(self.config.faults, faults.MANUAL_RESTART_DROPS_TEMPLATE)
        if cause == "reconcile":
            return not faults.is_on(self.config.faults, faults.RECONCILE_DROPS_TEMPLATE)
        return True

    def boot_plugins(self, ws: Workspace) -> list[str]:
        installed = self.store.plugins(ws.id)
        if not faults.is_on(self.config.faults, faults.PLUGIN_LOST):
            return boot_sources(ws.declared_plugins, installed)
        # a plugin reaches only the provision that follows its install
        fresh = [p for p in installed if p["installed_at_provision"] == ws.provisions]
        return boot_sources(ws.declared_plugins if ws.provisions == 0 else [], fresh)

    def _config_files(self, ws: Workspace, template: str) -> dict[str, str] | None:
        path = resolve_workspace_template_path(template, self.config.template_roots)
        if path is None:
            log.warning("%s: template %r not found: re-provision may land a stub", ws.id, template)
            return None
        return collect_cp_config_files(path, template, self.config.faults).wire()

    # -- provision and stop --------------------------------------------------------------------
    def provision(self, ws: Workspace, cause: str, template: str | None) -> None:
        """Call the control plane (gate held by the caller); a failure marks the row failed."""
        try:
            if template:
                files = self._config_files(ws, template)
            else:  # ensureDefaultConfig: a first provision without a template gets one made up
                files = generated_config(ws) if cause == "create" else None
        except TemplateError as exc:
            log.warning("%s: %s", ws.id, exc)  # the tenant says no more than the product does
            self.fail(ws.id, {"error": PROVISION_FAILED})
            return
        env = dict(ws.secrets)
        env["MOLECULE_DECLARED_PLUGINS"] = ",".join(self.boot_plugins(ws))
        env["MOLECULE_WORKSPACE_TOKEN"] = ws.token
        request: dict[str, Any] = {
            "org_id": self.config.org_id,
            "workspace_id": ws.id,
            "runtime": ws.runtime,
            "tier": ws.tier,
            "data_persistence": ws.compute.get("data_persistence", ""),
            "display": {},
            "platform_url": self.config.platform_url,
            "env": env,
        }
        if files is not None:
            request["config_files"] = files
        try:
            answer = self.cp.provision(request)
        except CpError as exc:
            if self.jobs.stopping.is_set():
                return  # going down: the next platform process resumes this workspace
            log.warning("%s: provision (%s) failed: %s", ws.id, cause, exc)
            self.fail(ws.id, {"error": PROVISION_FAILED})
            return
        self.store.update(
            ws.id,
            instance_id=str(answer["instance_id"]),
            private_ip=str(answer.get("private_ip") or ""),
            provisions=ws.provisions + 1,
        )
        self.retiring.discard(ws.instance_id)  # no longer current at all: refused outright
        self.launched_at[ws.id] = self.clock()

    def stop(self, ws: Workspace, *, prune: bool = False) -> str | None:
        """Stop the current box; None on success, else what failed (after 3 tries)."""
        if not ws.instance_id and not prune:
            return None
        last = ""
        for attempt in range(STOP_ATTEMPTS):
            try:
                self.cp.stop(ws.id, ws.instance_id, prune=prune)
                return None
            except CpError as exc:
                last = exc.message
                if attempt + 1 < STOP_ATTEMPTS:
                    self.sleep(self.config.timings.scale * (attempt + 1))  # product: 1 s, 2 s
        log.error("LEAK-SUSPECT: stop of %s (%s) failed: %s", ws.id, ws.instance_id, last)
        return f"{ws.instance_id}: {last}"

    def retire(self, ws: Workspace) -> None:
        """The current box goes: its liveness key is cleared and, until a new box is recorded,
        its last heartbeats are no longer counted (they would re-arm the key, and a new box
        slower than the TTL would be declared offline mid-restart). Then it is stopped."""
        if ws.instance_id:
            self.retiring.add(ws.instance_id)
        self.liveness.clear(ws.id)
        self.stop(ws)

    def fail(self, ws_id: str, payload: dict[str, Any]) -> None:
        self.launched_at.pop(ws_id, None)
        self.liveness.clear(ws_id)
        ws = self.store.workspace(ws_id)
        if ws is None or ws.status == "removed":
            return
        self.store.update(
            ws_id,
            status="failed",
            last_sample_error=str(payload.get("error", "")),
            event=("WORKSPACE_PROVISION_FAILED", payload),
        )

    # -- the three ways in ---------------------------------------------------------------------
    def first_provision(self, ws_id: str) -> None:
        with self.gates(ws_id):
            ws = self.store.workspace(ws_id)
            if ws is not None and ws.status != "removed":
                self.provision(ws, "create", ws.template or None)

    def manual_cycle(self, ws_id: str, body_template: str | None) -> None:
        """A manual restart after its answer: waits for the gate, then a full cycle."""
        with self.gates(ws_id):
            ws = self.store.workspace(ws_id)
            if ws is None or ws.status == "removed":
                return
            self.retire(ws)
            template = body_template or (ws.template if self.delivers_template("manual") else "")
            self.provision(ws, "manual", template or None)

    def restart_by_id(self, ws_id: str, cause: str) -> str:
        """An automatic restart: dropped, queued behind the running cycle, or started."""
        decision = self.auto.request(ws_id)
        if decision == "dropped":
            log.info("%s: automatic restart (%s) dropped: inside the window", ws_id, cause)
        elif decision == "run":
            self.jobs.submit(self._auto_loop, ws_id, cause)
        return decision

    def _auto_loop(self, ws_id: str, cause: str) -> None:
        while self.auto.next_cycle(ws_id):
            self._auto_cycle(ws_id, cause)

    def _auto_cycle(self, ws_id: str, cause: str) -> None:
        with self.gates(ws_id):
            ws = self.store.workspace(ws_id)
            if ws is None or ws.status in SKIP_STATUSES:
                return
            if ws.status == "provisioning":
                self.sleep(self.config.timings.provisioning_pause_s)
            self.retire(ws)
            ws = self.store.update(
                ws_id, status="provisioning", url="", event=provisioning_event(ws)
            )
            template = ws.template if self.delivers_template(cause) else ""
            self.provision(ws, cause, template or None)
