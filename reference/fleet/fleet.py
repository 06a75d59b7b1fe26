"""Keeps one box per running `Role=workspace` instance, and delivers SSM commands to boxes.

The AWS middleware pokes the fleet after every EC2 call that can change instances or volumes, so
a launch is seen within milliseconds; a slow periodic reconcile is only a safety net. An
instance is known by its `Role=workspace` tag alone; its data volume is whatever is attached at
`/dev/sdf`, and its UserData says whether it must have one (`data_persistence: persist`, or the
docker backend). Ending a saas box that had a volume snapshots its files into the volume first,
within the same reconcile pass and before any new box can start on that volume.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from reference.aws.faults import SsmDelays
from reference.aws.ssm_state import SsmState
from reference.fleet import ec2_view
from reference.fleet.box import BoxProcess, Spawner
from reference.fleet.box_options import BoxOptions, LaunchSpec
from reference.fleet.sandbox import BoxDirs, bwrap_argv, supervisor_command, venv_site_packages
from reference.fleet.snapshot import save_snapshot
from reference.fleet.ssm_bridge import SsmBridge

log = logging.getLogger(__name__)

DATA_DEVICE = "/dev/sdf"
DEAD_STATES = frozenset({"shutting-down", "terminated"})


@dataclass
class FleetSettings:
    region: str
    state_dir: Path
    volumes_dir: Path
    aws_endpoint_url: str
    aws_access_key_id: str
    aws_secret_access_key: str
    heartbeat_s: float
    boot_delay_s: float = 0.0
    options: BoxOptions = field(default_factory=BoxOptions)
    # how long a launched instance may wait for its data volume: the control plane attaches it
    # right after the launch, but on a loaded machine (50+ boxes booting) that can take seconds
    volume_grace_s: float = 30.0
    reconcile_every_s: float = 0.5
    # how long a terminated instance stays visible (EC2: about an hour; moto: forever)
    terminated_retention_s: float = 5.0


@dataclass
class Box:
    instance_id: str
    process: BoxProcess
    dirs: BoxDirs
    volume_id: str | None
    private_ip: str
    online: bool = False
    ended: bool = False
    agent_exit: int | None = None
    ran: bool = False  # the sandbox started (a box that never ran has nothing to save)
    restores: bool = False  # its boot restores from the volume's snapshot (saas, persist)


class Fleet:
    """The set of live boxes, reconciled against moto's EC2 state."""

    def __init__(self, settings: FleetSettings, ssm: SsmState, delays: SsmDelays) -> None:
        self.settings = settings
        self.ssm = ssm
        self.delays = delays
        self.boxes: dict[str, Box] = {}
        self._first_seen: dict[str, float] = {}
        self._terminated_seen: dict[str, float] = {}
        self._seen_volumes: set[str] = set()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._site = venv_site_packages()
        self._spawner: Spawner | None = None
        self._thread: threading.Thread | None = None
        self.bridge = SsmBridge(self.boxes, ssm, delays)
        ssm.dispatcher = self.bridge

    @property
    def instances_dir(self) -> Path:
        return self.settings.state_dir / "instances"

    # --- lifecycle ---

    def start(self) -> None:
        self._spawner = Spawner()
        self._thread = threading.Thread(target=self._loop, name="fleet", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Something in EC2 changed: reconcile now."""
        self._wake.set()

    def stop(self) -> None:
        """Kill every box and reap it; nothing the fleet started outlives this call."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            boxes = list(self.boxes.values())
            self.boxes.clear()
        for box in boxes:
            box.process.kill()
            self.ssm.instance_lost(box.instance_id)
            # moto forgets its instances with the stack: their root disks go too (volumes stay)
            shutil.rmtree(box.dirs.root, ignore_errors=True)
            shutil.rmtree(box.dirs.run, ignore_errors=True)
        if self._spawner is not None:
            self._spawner.stop()

    def _loop(self) -> None:
        pause = self.settings.reconcile_every_s
        while not self._stopping.is_set():
            self._wake.wait(pause)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                waiting = self.reconcile()
            except Exception:
                log.exception("fleet reconcile failed; retrying on the next tick")
                waiting = False
            # An instance waiting for its volume is looked at again soon.
            pause = 0.01 if waiting else self.settings.reconcile_every_s

    # --- reconcile ---

    def reconcile(self) -> bool:
        """Bring boxes in line with EC2; True while some instance still waits for its volume."""
        log.debug("reconcile")
        with self._lock:
            views = ec2_view.workspace_instances(self.settings.region)
            by_id = {v.instance_id: v for v in views}
            for iid, box in list(self.boxes.items()):
                view = by_id.get(iid)
                if view is None or view.state != "running":
                    self._end_box(box, wipe_root=view is None or view.state in DEAD_STATES)
            waiting = False
            for view in views:
                if view.state != "running" or view.instance_id in self.boxes:
                    continue
                waiting |= not self._try_start(view)
            for iid in list(self._first_seen):
                view = by_id.get(iid)
                if view is None or view.state != "running":
                    del self._first_seen[iid]
            self._forget_deleted_volumes()
            self._forget_terminated(views)
            for box in self.boxes.values():
                if box.online and not box.ended:
                    self.ssm.ping(box.instance_id)
        return waiting

    def _try_start(self, view: ec2_view.InstanceView) -> bool:
        """Start the instance's box, unless a volume it needs may still be on its way."""
        iid = view.instance_id
        spec = LaunchSpec.from_user_data(view.user_data)
        first_seen = self._first_seen.setdefault(iid, time.monotonic())
        waited = time.monotonic() - first_seen
        grace = self.settings.volume_grace_s
        attached = view.volumes.get(DATA_DEVICE)
        volume_error = ""
        if attached is None and spec.waits_for_volume:
            if waited < grace:
                return False
            volume_error = f"no data volume attached to {iid} at {DATA_DEVICE} after {grace:.1f}s"
        elif attached is not None:
            holder = self._volume_holder(attached)
            if holder is not None:
                if waited < grace:
                    return False
                volume_error = f"data volume {attached} is still in use by {holder}"
                attached = None
        self._start_box(view, spec, attached, volume_error)
        return True

    def _volume_holder(self, volume_id: str) -> str | None:
        """The box still using the volume: until the fleet ended it (and saved its snapshot)."""
        for box in self.boxes.values():
            if box.volume_id == volume_id:
                return box.instance_id
        return None

    def _start_box(
        self, view: ec2_view.InstanceView, spec: LaunchSpec, volume_id: str | None, error: str
    ) -> None:
        iid = view.instance_id
        base = self.instances_dir / iid
        dirs = BoxDirs(
            root=base / "root",
            volume=self.settings.volumes_dir / volume_id if volume_id else None,
            run=base / "run",
            volume_mode=spec.volume_mode,
        )
        dirs.prepare()
        if volume_id:
            self._seen_volumes.add(volume_id)
        (dirs.run / "user-data").write_bytes(view.user_data)
        (dirs.run / "instance.json").write_text(
            json.dumps(
                {
                    "instance_id": iid,
                    "region": self.settings.region,
                    "private_ip": view.private_ip,
                    "volume_id": volume_id,
                    "volume_error": error,
                    "aws_endpoint_url": self.settings.aws_endpoint_url,
                    "aws_access_key_id": self.settings.aws_access_key_id,
                    "aws_secret_access_key": self.settings.aws_secret_access_key,
                    "heartbeat_s": self.settings.heartbeat_s,
                    "boot_delay_s": self.settings.boot_delay_s,
                    **self.settings.options.as_instance_fields(),
                }
            )
        )
        log.info("box %s: starting (%s, volume %s) %s", iid, spec, volume_id, error)
        process = BoxProcess(
            iid, bwrap_argv(dirs, supervisor_command(), self._site), base / "box.log"
        )
        box = Box(iid, process, dirs, volume_id, view.private_ip)
        box.restores = (
            dirs.volume is not None
            and spec.volume_mode == "data"
            and spec.data_persistence == "persist"
            and (dirs.volume / "snapshot").is_dir()
        )
        self.boxes[iid] = box
        assert self._spawner is not None
        try:
            process.start(self._spawner, self.bridge.on_event)
            box.ran = True
        except Exception:
            log.exception("box %s: sandbox failed to start", iid)
            box.ended = True

    def _end_box(self, box: Box, wipe_root: bool) -> None:
        """Power the box off; save a saas box's files into its volume; then wipe its root.

        The box stays in `boxes` (holding its volume) until its snapshot is written, so a next
        box on the same volume restores what this one left.
        """
        box.process.kill()
        box.ended = True
        self.ssm.instance_lost(box.instance_id)
        if box.ran and box.volume_id and box.dirs.volume_mode == "data":
            save_snapshot(
                box.instance_id, box.dirs.root, box.dirs.volume, box.volume_id, box.restores
            )
        del self.boxes[box.instance_id]
        self._first_seen.pop(box.instance_id, None)
        if wipe_root:
            shutil.rmtree(box.dirs.root, ignore_errors=True)
            shutil.rmtree(box.dirs.run, ignore_errors=True)

    def _forget_terminated(self, views: list[ec2_view.InstanceView]) -> None:
        """Terminated instances leave the EC2 view after `terminated_retention_s`."""
        now = time.monotonic()
        still_seen: dict[str, float] = {}
        for view in views:
            if view.state != "terminated" or view.instance_id in self.boxes:
                continue
            seen = self._terminated_seen.get(view.instance_id, now)
            if now - seen >= self.settings.terminated_retention_s:
                ec2_view.forget_instance(self.settings.region, view.instance_id)
            else:
                still_seen[view.instance_id] = seen
        self._terminated_seen = still_seen

    def _forget_deleted_volumes(self) -> None:
        """A volume deleted through EC2 takes its directory with it."""
        if not self._seen_volumes:
            return
        existing = ec2_view.existing_volume_ids(self.settings.region)
        for volume_id in list(self._seen_volumes - existing):
            if self._volume_holder(volume_id) is None:
                shutil.rmtree(self.settings.volumes_dir / volume_id, ignore_errors=True)
                self._seen_volumes.discard(volume_id)

    def live_box_pids(self) -> dict[str, int]:
        with self._lock:
            return {
                iid: box.process.pid
                for iid, box in self.boxes.items()
                if not box.ended and box.process.pid is not None
            }
