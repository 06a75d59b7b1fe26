"""Workspace lifecycle: provisioning, restarts (one at a time, coalesced), reconcile, crashes.

State machine (DESIGN §3): `provisioning` → `online` (the current instance registered) →
`offline` (heartbeats missing past the TTL) → auto-restart → `provisioning` … ; `failed` when
the CP refuses or the box reports a boot failure; `removed` after delete.

A workspace is *busy* from a trigger until its new box registers (or fails). A trigger while
busy only records its reason in `pending_reasons`; when the busy period ends, exactly one more
restart runs, so the box online after a trigger reflects every change made before it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import yaml

from reference import faults
from reference.config import StackConfig
from reference.controlplane.errors import ProvisionRefused
from reference.controlplane.templates import resolve_workspace_template_path
from reference.platform.cp_client import CpClient, CpError
from reference.platform.plugins import PluginError, declared_plugins, plugin_dir
from reference.platform.store import Store, Workspace
from reference.platform.template_import import SAFE_LOADER

log = logging.getLogger(__name__)

PROVISION_TIMEOUT_S = 60.0
REASONS = ("manual", "plugin_install", "plugin_reconcile", "crash_recovery")


class Conflict(Exception):
    """The request contradicts the workspace's state (409)."""


class NotFound(Exception):
    """No such workspace (404)."""


class Lifecycle:
    """Owns the background workers and every status transition of every workspace."""

    def __init__(self, config: StackConfig, store: Store, cp: CpClient) -> None:
        self.config = config
        self.store = store
        self.cp = cp
        self._state = threading.RLock()  # guards busy / pending decisions
        self._job_locks: dict[str, threading.Lock] = {}
        self._heartbeats: dict[str, float] = {}
        self._launched_at: dict[str, float] = {}
        self._inflight: set[str] = set()
        self._timers: list[threading.Timer] = []
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ws-job")
        self._watcher = threading.Thread(target=self._watch, name="ws-watcher", daemon=True)

    # -- process lifetime --------------------------------------------------------------------
    def start(self) -> None:
        """Resume what a previous platform process left: online boxes get a fresh TTL."""
        now = time.monotonic()
        for ws in self.store.workspaces():
            if ws.status == "online":
                self._heartbeats[ws.id] = now
            elif ws.status == "provisioning":
                # the previous process may have died mid-job: provision this generation again
                reasons = ["create"] if ws.generation == 0 else (ws.pending_reasons or ["manual"])
                self.store.update(ws.id, busy=1, pending_reasons=[])
                self._submit(self._provision, ws.id, reasons)
            if ws.status == "online" and not ws.reconciled:
                self._schedule_reconcile(ws.id)
        self._watcher.start()
        for ws in self.store.workspaces("status = 'offline' AND busy = 0"):
            # the previous process saw the crash but died before restarting the box
            self.restart(ws.id, "crash_recovery")

    def stop(self) -> None:
        self._stopping.set()
        for timer in self._timers:
            timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._watcher.is_alive():
            self._watcher.join(timeout=5)

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self._stopping.is_set():
            return
        try:
            self._pool.submit(self._guarded, fn, *args)
        except RuntimeError:  # the pool shut down meanwhile: the next process resumes
            log.warning("platform stopping: %s%r not started", fn.__name__, args)

    @staticmethod
    def _guarded(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("lifecycle job %s%r failed", fn.__name__, args)

    def job_lock(self, ws_id: str) -> threading.Lock:
        with self._state:
            return self._job_locks.setdefault(ws_id, threading.Lock())

    # -- triggers ----------------------------------------------------------------------------
    def create(self, *, name: str, template: str, runtime: str, tier: int) -> Workspace:
        ws = self.store.add_workspace(
            name=name,
            template=template,
            runtime=runtime,
            tier=tier,
            org_id=self.config.org_id,
            token="wst-" + secrets.token_hex(20),
        )
        self._submit(self._provision, ws.id, ["create"])
        return ws

    def restart(self, ws_id: str, reason: str) -> Workspace:
        """Start a restart now, or record it as pending if one is in progress (coalescing)."""
        with self._state:
            ws = self._get(ws_id)
            if ws.status == "removed":
                raise Conflict(f"workspace {ws_id} is removed")
            if ws.busy:
                reasons = ws.pending_reasons + ([] if reason in ws.pending_reasons else [reason])
                return self.store.update(ws_id, pending_reasons=reasons)
            ws = self._begin_restart(ws, [reason])
        self._submit(self._provision, ws_id, [reason])
        return ws

    def _begin_restart(self, ws: Workspace, reasons: list[str]) -> Workspace:
        self._heartbeats.pop(ws.id, None)
        # no replacement launched yet: until there is one, the current instance is outgoing
        self._launched_at.pop(ws.id, None)
        payload = {
            "reason": reasons[0],
            "reasons": reasons,
            "generation": ws.generation,
            "instance_id": ws.instance_id,
        }
        return self.store.update(
            ws.id,
            busy=1,
            status="provisioning",
            pending_reasons=[],
            agent_card=None,
            url=None,
            event=("WORKSPACE_RESTARTING", payload),
        )

    def _finish(self, ws_id: str) -> None:
        """End the busy period; run exactly one more restart if triggers arrived meanwhile."""
        with self._state:
            ws = self.store.workspace(ws_id)
            if ws is None or ws.status == "removed":
                return
            if not ws.pending_reasons:
                self.store.update(ws_id, busy=0)
                return
            reasons = ws.pending_reasons
            self._begin_restart(ws, reasons)
        self._submit(self._provision, ws_id, reasons)

    def install_plugin(self, ws_id: str, name: str, source: str) -> None:
        with self._state:
            ws = self._get(ws_id)
            if ws.status == "removed":
                raise Conflict(f"workspace {ws_id} is removed")
            self.store.install_plugin(ws_id, name, source, ws.generation)
        self.restart(ws_id, "plugin_install")

    # -- the provision job -------------------------------------------------------------------
    def template_for(self, ws: Workspace, reasons: list[str]) -> str:
        """The template path to send the CP: re-resolved on every restart, like first provision."""
        if "create" in reasons or ws.generation == 0:
            return ws.template  # nothing was ever delivered: a first delivery in every mode
        if self.config.backend == "docker":
            return ""  # on purpose: the persistent config volume already holds /configs
        if faults.is_on(self.config.faults, faults.RESTART_DROPS_TEMPLATE):
            return ""
        if "plugin_reconcile" in reasons and faults.is_on(
            self.config.faults, faults.RECONCILE_DROPS_TEMPLATE
        ):
            return ""
        return ws.template

    def _provision(self, ws_id: str, reasons: list[str]) -> None:
        with self.job_lock(ws_id):
            ws = self.store.workspace(ws_id)
            if ws is None or ws.status == "removed":
                return
            self._inflight.add(ws_id)
            try:
                self._provision_locked(ws, reasons)
            finally:
                self._inflight.discard(ws_id)

    def _provision_locked(self, ws: Workspace, reasons: list[str]) -> None:
        generation = ws.generation + 1
        try:
            if ws.instance_id:
                self.cp.stop(ws.id, ws.instance_id)
            answer = self.cp.provision(
                {
                    "org_id": ws.org_id,
                    "workspace_id": ws.id,
                    "runtime": ws.runtime,
                    "tier": ws.tier,
                    "platform_url": self.config.platform_url,
                    "env": {},
                    "template": self.template_for(ws, reasons),
                    "generation": generation,
                    "workspace_token": ws.token,
                }
            )
        except CpError as exc:
            if self._stopping.is_set():
                return  # the platform is going down; the next process resumes this workspace
            self._fail(ws.id, generation, exc.message, instance_id=None)
            return
        # One step for `register`: it must never see "launched" next to the old instance id,
        # or a late register retry of the outgoing box passes as the new one (seen at scale:
        # WORKSPACE_ONLINE for the old box, none for the new).
        with self._state:
            self.store.update(
                ws.id,
                instance_id=answer["instance_id"],
                private_ip=answer.get("private_ip"),
                generation=generation,
                last_error=None,
            )
            self._launched_at[ws.id] = time.monotonic()

    def _fail(self, ws_id: str, generation: int, error: str, instance_id: str | None) -> None:
        self._heartbeats.pop(ws_id, None)
        self._launched_at.pop(ws_id, None)
        payload = {"error": error, "generation": generation, "instance_id": instance_id}
        self.store.update(
            ws_id,
            status="failed",
            last_error=error,
            event=("WORKSPACE_PROVISION_FAILED", payload),
        )
        self._finish(ws_id)

    # -- box → platform ----------------------------------------------------------------------
    def _current(self, ws_id: str, instance_id: str) -> Workspace:
        """The workspace, if `instance_id` is its current instance (waits out a provision)."""
        lock = self.job_lock(ws_id)
        if not lock.acquire(timeout=30):
            raise Conflict(f"workspace {ws_id} is busy provisioning; retry")
        try:
            ws = self._get(ws_id)
        finally:
            lock.release()
        if ws.status == "removed":
            raise Conflict(f"workspace {ws_id} is removed")
        if ws.instance_id != instance_id:
            raise Conflict(
                f"instance {instance_id} is not the current instance of workspace {ws_id} "
                f"(current: {ws.instance_id}, generation {ws.generation})"
            )
        return ws

    def register(self, ws_id: str, instance_id: str, url: str, agent_card: Any) -> Workspace:
        ws = self._current(ws_id, instance_id)
        first = False
        with self._state:
            ws = self._get(ws_id)
            if ws.instance_id != instance_id or ws.status == "removed":
                raise Conflict(f"instance {instance_id} is no longer current for {ws_id}")
            if ws.status == "provisioning" and ws_id not in self._launched_at:
                # a late register retry from the box a restart is replacing must not end the
                # restart: it would emit WORKSPACE_ONLINE for the old box and none for the new
                raise Conflict(f"instance {instance_id} is being replaced by a restart of {ws_id}")
            self._heartbeats[ws_id] = time.monotonic()
            self._launched_at.pop(ws_id, None)
            if ws.status == "online":
                return self.store.update(ws_id, url=url, agent_card=agent_card)
            first = not ws.reconciled
            ws = self.store.update(
                ws_id,
                status="online",
                url=url,
                agent_card=agent_card,
                last_error=None,
                reconciled=1 if first else int(ws.reconciled),
                event=(
                    "WORKSPACE_ONLINE",
                    {"generation": ws.generation, "instance_id": instance_id},
                ),
            )
        self._finish(ws_id)
        if first:
            self._schedule_reconcile(ws_id)
        return ws

    def heartbeat(self, ws_id: str, instance_id: str) -> Workspace:
        ws = self._get(ws_id)
        if ws.status == "removed" or ws.instance_id != instance_id:
            raise Conflict(f"instance {instance_id} is not the current instance of {ws_id}")
        if ws.status == "online":
            self._heartbeats[ws_id] = time.monotonic()
        return ws

    def boot_failed(self, ws_id: str, instance_id: str, error: str) -> None:
        ws = self._current(ws_id, instance_id)
        self._fail(ws_id, ws.generation, error, instance_id=instance_id)

    # -- reconcile ---------------------------------------------------------------------------
    def _schedule_reconcile(self, ws_id: str) -> None:
        if faults.is_on(self.config.faults, faults.LATE_RECONCILE):
            timer = threading.Timer(
                faults.LATE_RECONCILE_DELAY_S, self._submit, (self._reconcile, ws_id)
            )
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        else:
            self._submit(self._reconcile, ws_id)

    def declared_plugins(self, ws: Workspace) -> list[str]:
        try:
            path = resolve_workspace_template_path(ws.template, self.config.template_roots)
            data = yaml.load((path / "config.yaml").read_text(encoding="utf-8"), Loader=SAFE_LOADER)
        except (ProvisionRefused, OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            log.warning("reconcile of %s: cannot read template config: %s", ws.id, exc)
            return []
        return declared_plugins(data) if isinstance(data, dict) else []

    def _reconcile(self, ws_id: str) -> None:
        """Install plugins the template declares but the workspace lacks, then restart once."""
        ws = self.store.workspace(ws_id)
        if ws is None or ws.status == "removed":
            return
        installed = {p["name"] for p in self.store.plugins(ws_id)}
        missing = []
        for name in self.declared_plugins(ws):
            if name in installed:
                continue
            try:
                plugin_dir(self.config.plugins_root, name)
            except PluginError as exc:
                log.warning("reconcile of %s: %s", ws_id, exc)
                continue
            missing.append(name)
        if not missing:
            return
        with self._state:
            for name in missing:
                self.store.install_plugin(ws_id, name, f"local://{name}", ws.generation)
        self.restart(ws_id, "plugin_reconcile")

    # -- removal -----------------------------------------------------------------------------
    def delete(self, ws_id: str) -> Workspace:
        """Stop the box, free its secret and volume (via the CP), then mark it removed."""
        with self.job_lock(ws_id):
            ws = self._get(ws_id)
            if ws.status == "removed":
                return ws
            answer = self.cp.purge(ws_id)
            with self._state:
                self._heartbeats.pop(ws_id, None)
                self._launched_at.pop(ws_id, None)
                return self.store.update(
                    ws_id,
                    status="removed",
                    busy=0,
                    pending_reasons=[],
                    event=("WORKSPACE_REMOVED", {"stopped": answer.get("instances", [])}),
                )

    # -- crash watcher -----------------------------------------------------------------------
    def _watch(self) -> None:
        interval = max(0.02, min(self.config.heartbeat_ttl_s / 5, 0.25))
        while not self._stopping.wait(interval):
            try:
                self._check_heartbeats()
                self._check_provision_deadlines()
            except Exception:
                log.exception("crash watcher pass failed")

    def _check_heartbeats(self) -> None:
        now = time.monotonic()
        for ws_id, seen in list(self._heartbeats.items()):
            age = now - seen
            if age <= self.config.heartbeat_ttl_s:
                continue
            with self._state:
                if self._heartbeats.get(ws_id) != seen:
                    continue
                self._heartbeats.pop(ws_id, None)
                ws = self.store.workspace(ws_id)
                if ws is None or ws.status != "online":
                    continue
                self.store.update(
                    ws_id,
                    status="offline",
                    event=(
                        "WORKSPACE_OFFLINE",
                        {
                            "reason": "heartbeat_ttl",
                            "last_heartbeat_age_s": round(age, 3),
                            "generation": ws.generation,
                            "instance_id": ws.instance_id,
                        },
                    ),
                )
            self.restart(ws_id, "crash_recovery")

    def _check_provision_deadlines(self) -> None:
        now = time.monotonic()
        for ws_id, launched in list(self._launched_at.items()):
            if now - launched <= PROVISION_TIMEOUT_S or ws_id in self._inflight:
                continue
            self._launched_at.pop(ws_id, None)
            ws = self.store.workspace(ws_id)
            if ws is None or ws.status != "provisioning":
                continue
            self._fail(
                ws_id,
                ws.generation,
                f"box {ws.instance_id} did not register within {PROVISION_TIMEOUT_S:.0f} s",
                instance_id=ws.instance_id,
            )

    # -- helpers -----------------------------------------------------------------------------
    def _get(self, ws_id: str) -> Workspace:
        ws = self.store.workspace(ws_id)
        if ws is None:
            raise NotFound(f"workspace {ws_id} not found")
        return ws
