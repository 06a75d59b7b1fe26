"""A fake box fleet for unit tests: plays the box side of docs/contract.md in-process.

It watches EC2 for running `Role=workspace` instances of its org, does the boot step (secret →
/configs, stub, plugins) into `<state_dir>/volumes/<vol>/configs`, registers and heartbeats.
The e2e suite uses the real fleet; this one lets lifecycle tests run in milliseconds.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from collections.abc import Callable
from typing import Any

import httpx

from reference.config import StackConfig
from reference.controlplane.aws import make_client
from reference.controlplane.templates import is_cp_template_asset_path

STUB_CONFIG = (
    "# stub: no template config was delivered to this box\n"
    "name: unconfigured-agent\n"
    "role: placeholder\n"
    "runtime: claude-code\n"
    "prompt_files: []\n"
    "# the platform sent no config.yaml; this agent has no prompts\n"
)
STUB_CONFIG = STUB_CONFIG + "#" * (218 - len(STUB_CONFIG.encode()) - 1) + "\n"
assert len(STUB_CONFIG.encode()) == 218


def aws_client(config: StackConfig, service: str) -> Any:
    return make_client(service, config)


class FakeBox:
    """One box: boot step, register, heartbeats until told to stop or crash."""

    def __init__(self, fleet: FakeFleet, instance: dict[str, Any]) -> None:
        self.fleet = fleet
        self.instance_id = str(instance["InstanceId"])
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        self.volume_id = tags.get("DataVolumeId", "")
        self.configs = fleet.config.volumes_dir / self.volume_id / "configs"
        self.stop_event = threading.Event()
        self.crashed = threading.Event()
        self.registered = threading.Event()
        self.error: str | None = None
        self.http: httpx.Client
        self.thread = threading.Thread(target=self.run, name=f"box-{self.instance_id}", daemon=True)

    def run(self) -> None:
        try:
            with httpx.Client(timeout=30) as self.http:
                self._boot_and_serve()
        except Exception as exc:  # recorded for the test's failure message
            self.error = repr(exc)

    def _boot_and_serve(self) -> None:
        fleet = self.fleet
        raw = fleet.ec2.describe_instance_attribute(
            InstanceId=self.instance_id, Attribute="userData"
        )
        user_data = json.loads(base64.b64decode(raw["UserData"]["Value"]))
        ws_id = user_data["workspace_id"]
        headers = {"Authorization": f"Bearer {user_data['workspace_token']}"}
        base = user_data["platform_url"]
        with fleet.volume_lock(self.volume_id):
            self.configs.mkdir(parents=True, exist_ok=True)
            if user_data["secret_id"]:
                secret = fleet.secrets.get_secret_value(SecretId=user_data["secret_id"])
                files = json.loads(secret["SecretString"])["config_files"]
                for existing in sorted(self.configs.rglob("*")):
                    rel = existing.relative_to(self.configs).as_posix()
                    if existing.is_file() and is_cp_template_asset_path(rel) and rel not in files:
                        existing.unlink()
                for rel, text in files.items():
                    target = self.configs / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_name(target.name + ".tmp")
                    tmp.write_text(text, encoding="utf-8")
                    os.replace(tmp, target)
            if not (self.configs / "config.yaml").exists():
                (self.configs / "config.yaml").write_text(STUB_CONFIG, encoding="utf-8")
            plugins = self.http.get(f"{base}/registry/workspaces/{ws_id}/plugins", headers=headers)
            plugins.raise_for_status()
            shutil.rmtree(self.configs / "plugins", ignore_errors=True)
            for plugin in plugins.json():
                for rel, text in plugin["files"].items():
                    target = self.configs / "plugins" / plugin["name"] / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
        if fleet.before_register is not None:
            fleet.before_register(self)
        card = {"name": ws_id, "role": "fake", "prompts": {}}
        answer = self.http.post(
            f"{base}/registry/register",
            headers=headers,
            json={"id": ws_id, "instance_id": self.instance_id, "url": "", "agent_card": card},
        )
        if answer.status_code != 200:
            self.error = f"register {answer.status_code}: {answer.text}"
            return
        self.registered.set()
        while not self.stop_event.wait(fleet.config.heartbeat_s):
            if self.crashed.is_set():
                continue
            self.http.post(
                f"{base}/registry/heartbeat",
                headers=headers,
                json={"workspace_id": ws_id, "instance_id": self.instance_id},
            )


class FakeFleet:
    """Starts a FakeBox per running Role=workspace instance, stops it when it is terminated."""

    def __init__(self, config: StackConfig, poll_s: float = 0.01) -> None:
        self.config = config
        self.poll_s = poll_s
        self.ec2 = aws_client(config, "ec2")
        self.secrets = aws_client(config, "secretsmanager")
        self.boxes: dict[str, FakeBox] = {}
        self.before_register: Callable[[FakeBox], None] | None = None
        self._volume_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fake-fleet", daemon=True)

    def volume_lock(self, volume_id: str) -> threading.Lock:
        with self._lock:
            return self._volume_locks.setdefault(volume_id, threading.Lock())

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for box in self.boxes.values():
            box.stop_event.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                answer = self.ec2.describe_instances(
                    Filters=[
                        {"Name": "tag:Role", "Values": ["workspace"]},
                        {"Name": "tag:OrgId", "Values": [self.config.org_id]},
                    ]
                )
            except Exception:
                continue
            for reservation in answer["Reservations"]:
                for instance in reservation["Instances"]:
                    iid = instance["InstanceId"]
                    state = instance["State"]["Name"]
                    box = self.boxes.get(iid)
                    if state == "running" and box is None:
                        box = FakeBox(self, instance)
                        self.boxes[iid] = box
                        box.thread.start()
                    elif state in ("shutting-down", "terminated") and box is not None:
                        box.stop_event.set()

    def box(self, instance_id: str) -> FakeBox:
        return self.boxes[instance_id]
