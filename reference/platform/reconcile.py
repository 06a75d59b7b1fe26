"""The post-online plugin reconcile (handlers/plugins_reconcile.go).

On each transition to online, every plugin the template declared that the platform has not
recorded as installed is looked for on the box (`/configs/plugins/<name>/plugin.yaml`); if the
box has it, it is only recorded; otherwise it is pushed to the running box and an automatic
restart follows. Fire-and-forget, and it emits no event: the harness sees it only as a
restart, and as the plugin's files on the box.
"""

from __future__ import annotations

import logging

from reference import faults
from reference.config import StackConfig
from reference.platform.boxes import BoxError, Boxes
from reference.platform.cycles import Cycles
from reference.platform.jobs import Jobs
from reference.platform.plugins import PluginError, install_name, load_bundle
from reference.platform.store import Store

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self, config: StackConfig, store: Store, boxes: Boxes, cycles: Cycles, jobs: Jobs
    ) -> None:
        self.config = config
        self.store = store
        self.boxes = boxes
        self.cycles = cycles
        self.jobs = jobs

    def trigger(self, ws_id: str) -> None:
        if faults.is_on(self.config.faults, faults.LATE_RECONCILE):
            self.jobs.later(faults.LATE_RECONCILE_DELAY_S, self.run, ws_id)
        else:
            self.jobs.submit(self.run, ws_id)

    def run(self, ws_id: str) -> None:
        ws = self.store.workspace(ws_id)
        if ws is None or ws.status == "removed":
            return
        installed = {p["name"] for p in self.store.plugins(ws_id)}
        for source in ws.declared_plugins:
            try:
                name = install_name(source)
                files = load_bundle(self.config.plugins_root, name)
            except PluginError as exc:
                log.warning("reconcile of %s: %s: %s", ws_id, source, exc.message)
                continue
            if name in installed or not ws.instance_id:
                continue
            try:
                if not self.boxes.plugin_present(ws.instance_id, name):
                    self.boxes.push_plugin(ws.instance_id, name, files)
                    self.cycles.restart_by_id(ws_id, "reconcile")
            except BoxError as exc:
                log.warning("reconcile of %s: %s", ws_id, exc)
                continue
            self.store.record_plugin(ws_id, name, source, ws.provisions)
            log.info("reconcile of %s: %s installed", ws_id, name)
