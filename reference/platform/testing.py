"""Test doubles for unit tests of the platform and CP: a uvicorn thread and a fake box fleet.

The fake fleet plays the box side of docs/contract.md in-process (no sandbox): it watches EC2
for running `Role=workspace` instances, does the boot step (secret → /configs, stub, plugins)
into `<state_dir>/volumes/<vol>/configs`, registers and heartbeats. The e2e suite uses the real
fleet; these exist so unit tests of the lifecycle run in milliseconds.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving `app` on a loopback port in a daemon thread (lifespan included)."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.port = port
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self, timeout_s: float = 10.0) -> None:
        self.thread.start()
        end = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > end or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


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


_moto_lock = threading.Lock()
_moto_url: str | None = None
_moto_proc: subprocess.Popen[bytes] | None = None


def _stop_moto() -> None:
    if _moto_proc is not None and _moto_proc.poll() is None:
        _moto_proc.terminate()
        try:
            _moto_proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _moto_proc.kill()
            _moto_proc.wait()


def shared_moto_url() -> str:
    """One moto server per test process, in its own process.

    moto's state is process-global: an in-process server would share it with any other
    in-process stack of the same test worker (whose fleet would then boot our instances).
    """
    global _moto_url, _moto_proc
    with _moto_lock:
        if _moto_url is None:
            port = free_port()
            _moto_proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            atexit.register(_stop_moto)
            url = f"http://127.0.0.1:{port}"
            Eventually.wait(
                lambda: _moto_answers(url),
                bool,
                f"moto server on port {port} (pid {_moto_proc.pid}) to answer",
                timeout_s=30,
                every_s=0.05,
            )
            _moto_url = url
            ec2 = make_client("ec2", _warm_config(url))
            ec2.describe_volumes()
            ec2.describe_instances()
        return _moto_url


def _moto_answers(url: str) -> bool:
    try:
        return httpx.get(url + "/moto-api/", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def _warm_config(url: str) -> StackConfig:
    config = StackConfig(state_dir=Path(tempfile.gettempdir()))
    config.aws_endpoint_url = url
    return config


def write_template(root: Path, name: str, files: dict[str, str | bytes]) -> Path:
    """A template directory on disk (bytes for deliberately non-UTF-8 files)."""
    base = root / name
    for rel, content in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return base


MINI_TEMPLATE: dict[str, str | bytes] = {
    "config.yaml": "name: mini\nruntime: claude-code\nprompt_files:\n  - prompts/system.md\n",
    "prompts/system.md": "You are mini.\n",
    "prompts/deep/nested.md": "nested prompt\n",
    "CLAUDE.md": "template default CLAUDE.md\n",
    ".claude/settings.json": '{"template": true}\n',
}


class Eventually:
    """Poll `probe` until `done(value)`; on timeout fail with the last value seen."""

    @staticmethod
    def wait(
        probe: Callable[[], Any],
        done: Callable[[Any], bool],
        what: str,
        timeout_s: float = 10.0,
        every_s: float = 0.01,
    ) -> Any:
        end = time.monotonic() + timeout_s
        last: Any = None
        while True:
            last = probe()
            if done(last):
                return last
            if time.monotonic() > end:
                raise AssertionError(
                    f"timed out after {timeout_s}s waiting for {what}; last: {last}"
                )
            time.sleep(every_s)


class PlatformUnderTest:
    """A platform (+CP) on a loopback port, moto behind it, a fake fleet, and an admin client."""

    def __init__(self, config: StackConfig, with_fleet: bool = True) -> None:
        self.config = config
        self.port = free_port()
        config.platform_url = f"http://127.0.0.1:{self.port}"
        self.server: ServerThread | None = None
        self.fleet = FakeFleet(config) if with_fleet else None
        self.client = httpx.Client(
            base_url=config.platform_url,
            headers={
                "Authorization": f"Bearer {config.admin_token}",
                "X-Molecule-Org-Id": config.org_id,
            },
            timeout=30,
        )

    def start_platform(self) -> None:
        from reference.platform.app import build_app

        self.server = ServerThread(build_app(self.config), self.port)
        self.server.start()

    def stop_platform(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> PlatformUnderTest:
        self.start_platform()
        if self.fleet is not None:
            self.fleet.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fleet is not None:
            self.fleet.stop()
        self.stop_platform()
        self.client.close()

    # -- helpers -----------------------------------------------------------------------------
    def create(self, template: str = "mini", name: str | None = None) -> str:
        answer = self.client.post(
            "/workspaces", json={"name": name or f"ws-{time.monotonic_ns()}", "template": template}
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def workspace(self, ws_id: str) -> dict[str, Any]:
        answer = self.client.get(f"/workspaces/{ws_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def events(self, ws_id: str) -> list[dict[str, Any]]:
        answer = self.client.get(f"/events/{ws_id}")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    def wait_online(
        self, ws_id: str, generation: int = 1, timeout_s: float = 10.0
    ) -> dict[str, Any]:
        """Online at `generation` or later, with no restart pending."""
        return dict(
            Eventually.wait(
                lambda: self.workspace(ws_id),
                lambda ws: (
                    ws["status"] == "online"
                    and ws["generation"] >= generation
                    and not ws["restart_pending"]
                ),
                f"workspace {ws_id} online at generation >= {generation}",
                timeout_s,
            )
        )

    def wait_status(self, ws_id: str, status: str, timeout_s: float = 10.0) -> dict[str, Any]:
        return dict(
            Eventually.wait(
                lambda: self.workspace(ws_id),
                lambda ws: ws["status"] == status,
                f"workspace {ws_id} {status}",
                timeout_s,
            )
        )

    def volume_of(self, ws_id: str) -> Path:
        ec2 = aws_client(self.config, "ec2")
        vols = ec2.describe_volumes(Filters=[{"Name": "tag:WorkspaceId", "Values": [ws_id]}])
        ids = [v["VolumeId"] for v in vols["Volumes"]]
        assert len(ids) == 1, f"workspace {ws_id} has volumes {ids}"
        return self.config.volumes_dir / ids[0]


def make_config(
    tmp: Path,
    *,
    faults_on: frozenset[str] = frozenset(),
    backend: str = "saas",
    heartbeat_ttl_s: float = 1.5,
    heartbeat_s: float = 0.1,
) -> StackConfig:
    """A StackConfig over a temp dir: a `mini` template and the fixture plugins."""
    from reference.config import FIXTURE_PLUGINS

    templates = tmp / "builtin-templates"
    write_template(templates, "mini", MINI_TEMPLATE)
    config = StackConfig(
        state_dir=tmp / "state",
        faults=faults_on,
        backend=backend,
        heartbeat_s=heartbeat_s,
        heartbeat_ttl_s=heartbeat_ttl_s,
        plugins_root=FIXTURE_PLUGINS,
    )
    config.template_roots = [config.imported_templates_dir, templates]
    config.aws_endpoint_url = shared_moto_url()
    return config


class ServedStack:
    """`python -m reference serve --json` as a subprocess: the real stack, isolated per test.

    A subprocess keeps moto's process-global state and the fleet's boxes away from anything
    else the test worker runs.
    """

    def __init__(
        self, state_dir: Path, faults_on: str = "", backend: str = "saas", timeout_s: float = 60
    ) -> None:
        self.state_dir = state_dir
        self.argv = [
            sys.executable,
            "-m",
            "reference",
            "serve",
            "--json",
            "--state-dir",
            str(state_dir),
            "--faults",
            faults_on,
            "--backend",
            backend,
        ]
        self.timeout_s = timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, str] = {}

    def __enter__(self) -> ServedStack:
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=open(self.state_dir.parent / "stack.log", "ab"),
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line_box: list[str] = []
        reader = threading.Thread(
            target=lambda: line_box.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(self.timeout_s)
        if not line_box or not line_box[0].strip():
            self.__exit__()
            log = (self.state_dir.parent / "stack.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"reference stack did not start; log tail:\n{log}")
        self.info = json.loads(line_box[0])
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.info["platform_url"],
            headers={
                "Authorization": f"Bearer {self.info['admin_token']}",
                "X-Molecule-Org-Id": self.info["org_id"],
            },
            timeout=30,
        )

    def aws(self, service: str) -> Any:
        config = StackConfig(state_dir=self.state_dir)
        config.aws_endpoint_url = self.info["aws_endpoint_url"]
        return make_client(service, config)
