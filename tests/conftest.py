"""Shared fixtures for the reference stack's tests: an AWS-side stack, a fake registry, waits.

Kept small on purpose (several helpers share this file). The stack here runs without the
platform: boxes talk to `FakeRegistry`, a few-line HTTP server that records what they say.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support.loopback import loopback_server

from e2e.harness.waits import wait_for
from reference.controlplane.backends import instance_tags
from reference.controlplane.staging import secret_id_for, secret_payload

T = TypeVar("T")


def wait_until(
    what: str,
    probe: Callable[[], T],
    ok: Callable[[T], bool],
    timeout_s: float = 10.0,
    every_s: float = 0.01,
) -> T:
    """Poll `probe` until `ok(value)`; on timeout fail naming what was last seen (the
    harness's own wait, so tests and the suite share one Eventually)."""
    return wait_for(what, probe, ok, timeout_s=timeout_s, poll_s=every_s).value


ORG_HEADER = "X-Molecule-Org-Id"
# The product's tenant guard lets only these through without the org header.
ORG_EXEMPT = ("/registry/register", "/registry/heartbeat")


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def encode_files(files: dict[str, str] | dict[str, bytes]) -> dict[str, str]:
    """`{relpath: text or bytes}` → the wire form `{relpath: base64 of the raw bytes}`."""
    return {rel: b64(data) for rel, data in files.items()}


@dataclass
class FakeRegistry:
    """Records `/registry/*` calls; serves each workspace's plugins by name.

    Like the product's tenant guard, it answers 400 to a guarded call without
    `X-Molecule-Org-Id` and 404 to one with another org's id; those calls land in `refused`.
    """

    url: str = ""
    org_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, org header
    plugins: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, kind: str, workspace_id: str) -> list[Any]:
        key = "id" if kind == "register" else "workspace_id"
        with self.lock:
            return [b for _, p, b in self.calls if p.endswith(kind) and b.get(key) == workspace_id]

    def serve_plugin(
        self,
        workspace_id: str,
        name: str,
        files: dict[str, str] | dict[str, bytes],
        source: str | None = None,
    ) -> None:
        answer = {"name": name, "source": source or f"local://{name}", "files": encode_files(files)}
        with self.lock:
            self.plugins.setdefault(workspace_id, {})[name] = answer

    def plugin_requests(self, workspace_id: str) -> list[str]:
        """The plugin names this workspace's boxes asked for, in order."""
        prefix = f"/registry/workspaces/{workspace_id}/plugins/"
        with self.lock:
            return [
                p[len(prefix) :] for m, p, _ in self.calls if m == "GET" and p.startswith(prefix)
            ]

    def refused_for(self, workspace_id: str) -> list[tuple[str, str, str]]:
        with self.lock:
            return [r for r in self.refused if workspace_id in r[1]]


@pytest.fixture(scope="session")
def fake_registry() -> Iterator[FakeRegistry]:
    registry = FakeRegistry()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, body: Any, status: int = 200) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            # a box killed mid-heartbeat hangs up: nothing to answer then
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def _guard(self, method: str) -> bool:
            """The tenant guard: True when the call may pass (it answered otherwise)."""
            if self.path in ORG_EXEMPT:
                return True
            org = self.headers.get(ORG_HEADER)
            if org == registry.org_id:
                return True
            with registry.lock:
                registry.refused.append((method, self.path, org or ""))
            if not org:
                self._answer({"code": "TENANT_ORG_HEADER_REQUIRED"}, 400)
            else:
                self._answer(None, 404)
            return False

        def do_GET(self) -> None:  # /registry/workspaces/<id>/plugins/<name>
            if not self._guard("GET"):
                return
            with registry.lock:
                registry.calls.append(("GET", self.path, {}))
            parts = self.path.split("/")
            if len(parts) != 6 or parts[1:3] != ["registry", "workspaces"] or parts[4] != "plugins":
                self._answer({"error": f"no route {self.path}"}, 404)
                return
            workspace_id, name = parts[3], urllib.parse.unquote(parts[5])
            with registry.lock:
                answer = registry.plugins.get(workspace_id, {}).get(name)
            if answer is None:
                self._answer({"error": f"plugin {name!r} is not installed"}, 404)
            else:
                self._answer(answer)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)))
            if not self._guard("POST"):
                return
            with registry.lock:
                registry.calls.append(("POST", self.path, body))
            self._answer({"status": "ok"})

    with loopback_server(Handler) as url:
        registry.url = url
        yield registry


@pytest.fixture(scope="session")
def aws_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The AWS endpoint and fleet (no platform), one per test worker."""
    from reference.config import StackConfig
    from reference.stack import Stack

    config = StackConfig(state_dir=tmp_path_factory.mktemp("stack"), heartbeat_s=0.05)
    stack = Stack(config, with_platform=False).start()
    yield stack
    stack.stop()


def aws_client(stack: Any, service: str) -> Any:
    import boto3

    cfg = stack.config
    return boto3.client(
        service,
        endpoint_url=cfg.aws_endpoint_url,
        region_name=cfg.region,
        aws_access_key_id=cfg.aws_access_key_id,
        aws_secret_access_key=cfg.aws_secret_access_key,
    )


TENANT_SLUG = "tests"


@dataclass
class Workspaces:
    """Provisions workspaces exactly as docs/contract.md says the control plane does."""

    stack: Any
    registry: FakeRegistry
    instances: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ec2 = aws_client(self.stack, "ec2")
        self.sm = aws_client(self.stack, "secretsmanager")
        self.ssm = aws_client(self.stack, "ssm")

    wait_until = staticmethod(wait_until)

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def put_config(self, workspace_id: str, files: dict[str, str] | dict[str, bytes]) -> str:
        """Stage a config set: SecretString is a flat `{relpath: base64 of the raw bytes}`."""
        name = secret_id_for(workspace_id)
        raw = {rel: data.encode() if isinstance(data, str) else data for rel, data in files.items()}
        body = secret_payload(raw)
        try:
            self.sm.create_secret(Name=name, SecretString=body)
        except self.sm.exceptions.ResourceExistsException:
            self.sm.put_secret_value(SecretId=name, SecretString=body)
        return name

    def new_volume(self, workspace_id: str) -> str:
        return str(
            self.ec2.create_volume(
                Size=1,
                AvailabilityZone=f"{self.stack.config.region}a",
                TagSpecifications=[
                    {
                        "ResourceType": "volume",
                        "Tags": [
                            {"Key": "WorkspaceId", "Value": workspace_id},
                            {"Key": "Role", "Value": "workspace-data"},
                        ],
                    }
                ],
            )["VolumeId"]
        )

    def user_data(
        self,
        workspace_id: str,
        backend: str = "saas",
        persistence: str = "persist",
        plugins: list[str] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        env = {"MOLECULE_DECLARED_PLUGINS": ",".join(plugins or [])}
        return {
            "workspace_id": workspace_id,
            "org_id": self.registry.org_id,
            "platform_url": self.registry.url,
            "workspace_token": "tok-" + workspace_id[:8],
            "backend": backend,
            "secret_id": f"molecule/workspace/{workspace_id}/config",
            "data_persistence": persistence,
            "env": env,
            **overrides,
        }

    def launch(
        self,
        workspace_id: str,
        volume_id: str | None = None,
        attach: bool = True,
        backend: str = "saas",
        persistence: str = "persist",
        plugins: list[str] | None = None,
        **user_data_overrides: Any,
    ) -> str:
        """run_instances with the two tags the product sets, then attach the volume (if any)."""
        user_data = self.user_data(
            workspace_id, backend, persistence, plugins, **user_data_overrides
        )
        answer = self.ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            UserData=json.dumps(user_data),
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": instance_tags(TENANT_SLUG, workspace_id)}
            ],
        )
        instance_id = str(answer["Instances"][0]["InstanceId"])
        self.instances.append(instance_id)
        if volume_id and attach:
            self.ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
        return instance_id

    def registered(self, workspace_id: str, instance_id: str) -> dict[str, Any]:
        """Wait until this instance's box registered; its register body."""
        found = wait_until(
            f"{instance_id} registered",
            lambda: [
                r
                for r in self.registry.of("register", workspace_id)
                if r["instance_id"] == instance_id
            ],
            bool,
        )
        return dict(found[0])

    def end(self, instance_id: str) -> None:
        """Terminate and wait until the box is gone (its snapshot, if any, is then taken)."""
        self.terminate(instance_id)
        wait_until(f"{instance_id} gone", lambda: self.ping(instance_id), lambda s: s != "Online")

    def terminate(self, instance_id: str) -> None:
        self.ec2.terminate_instances(InstanceIds=[instance_id])

    def terminate_all(self) -> None:
        """Teardown: every instance launched here that EC2 still knows (the fleet forgets
        terminated ones after its retention, and EC2 refuses unknown ids)."""
        if not self.instances:
            return
        known = [
            i["InstanceId"]
            for r in self.ec2.describe_instances()["Reservations"]
            for i in r["Instances"]
            if i["InstanceId"] in self.instances
        ]
        if known:
            self.ec2.terminate_instances(InstanceIds=known)

    def ping(self, instance_id: str) -> str:
        found = self.ssm.describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": [instance_id]}]
        )["InstanceInformationList"]
        return str(found[0]["PingStatus"]) if found else "NotRegistered"

    def wait_online(self, instance_id: str) -> None:
        wait_until(f"{instance_id} Online", lambda: self.ping(instance_id), lambda s: s == "Online")

    def run(
        self, instance_id: str, script: str, timeout_s: int = 20, **params: Any
    ) -> dict[str, Any]:
        """Run a script over SSM and return the final GetCommandInvocation answer."""
        parameters = {"commands": [script], "executionTimeout": [str(timeout_s)]}
        parameters.update({k: [v] for k, v in params.items()})
        command_id = self.ssm.send_command(
            InstanceIds=[instance_id], DocumentName="AWS-RunShellScript", Parameters=parameters
        )["Command"]["CommandId"]
        return self.wait_command(command_id, instance_id, timeout_s + 10)

    def invocation(self, command_id: str, instance_id: str) -> dict[str, Any]:
        try:
            return dict(
                self.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
            )
        except self.ssm.exceptions.InvocationDoesNotExist:
            return {"Status": "InvocationDoesNotExist"}

    def wait_command(self, command_id: str, instance_id: str, timeout_s: float) -> dict[str, Any]:
        return wait_until(
            f"command {command_id} to finish",
            lambda: self.invocation(command_id, instance_id),
            lambda inv: inv["Status"] in ("Success", "Failed", "TimedOut", "Cancelled"),
            timeout_s,
        )

    def volume_dir(self, volume_id: str) -> Path:
        return Path(self.stack.config.volumes_dir) / volume_id


@pytest.fixture
def workspaces(aws_stack: Any, fake_registry: FakeRegistry) -> Iterator[Workspaces]:
    spaces = Workspaces(aws_stack, fake_registry)
    yield spaces
    spaces.terminate_all()


@pytest.fixture(scope="session")
def make_workspaces(aws_stack: Any, fake_registry: FakeRegistry) -> Callable[[], Workspaces]:
    """For module-scoped fixtures: `make_workspaces()` gives a fresh `Workspaces` helper."""
    return lambda: Workspaces(aws_stack, fake_registry)


@pytest.fixture
def workspaces_for(fake_registry: FakeRegistry) -> Iterator[Callable[[Any], Workspaces]]:
    """`Workspaces` against another stack (e.g. a `reference serve` subprocess)."""
    made: list[Workspaces] = []

    def _make(stack: Any) -> Workspaces:
        made.append(Workspaces(stack, fake_registry))
        return made[-1]

    yield _make
    for spaces in made:
        # the stack may already be gone: then nothing is left to clean
        with contextlib.suppress(Exception):
            spaces.terminate_all()
