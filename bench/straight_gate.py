"""The gate as a minimal straight-line script: httpx + boto3 and nothing of the harness.

It makes the harness's calls in the harness's order — import, create, poll until stable (GET the
workspace; when online: EC2 describe_instances and SSM PingStatus), wait for the plugin reconcile,
read /configs and /workspace over SSM, seed user files, install the plugin, restart, each time
waiting for a fresh box and verifying — but without its machinery: no paging, no bracketing
retries, no diffs, no report steps, no retries. `bench_overhead.py` compares the two on one stack;
the difference is what the harness itself costs. It checks the same things, so a broken stack
also fails it (it is a benchmark baseline, not a second gate).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "fixtures" / "templates" / "seo-agent"
PLUGINS = REPO / "fixtures" / "plugins"
POLL_S = 0.02  # the harness's `fast` profile: platform/EC2 polls
SSM_POLL_S = 0.01  # … and get_command_invocation polls
TIMEOUT_S = 30.0
LIFECYCLE = ("WORKSPACE_RESTARTING", "WORKSPACE_ONLINE", "WORKSPACE_OFFLINE")
# one line per file: "<sha256>  ./<path relative to the root>"
MANIFEST = "cd {root} && find . -type f -print0 | xargs -0 -r sha256sum"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@dataclass
class Stable:
    instance_id: str
    generation: int


class StraightGate:
    def __init__(self, info: dict[str, Any], restarts: int, tag: str) -> None:
        self.http = httpx.Client(
            base_url=info["platform_url"],
            headers={
                "Authorization": f"Bearer {info['admin_token']}",
                "X-Molecule-Org-Id": info["org_id"],
            },
            timeout=10.0,
        )
        aws = {
            "endpoint_url": info["aws_endpoint_url"],
            "region_name": info.get("region") or "us-east-1",
            "aws_access_key_id": info.get("aws_access_key_id") or "testing",
            "aws_secret_access_key": info.get("aws_secret_access_key") or "testing",
        }
        self.ec2 = boto3.client("ec2", **aws)
        self.ssm = boto3.client("ssm", **aws)
        self.restarts = restarts
        self.tag = tag
        self.ws_id = ""
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.http.event_hooks["request"].append(
            lambda r: self._count(f"HTTP {r.method} {r.url.path.split('/')[1]}")
        )
        for client in (self.ec2, self.ssm):
            client.meta.events.register(
                "before-call", lambda model, **_: self._count(f"AWS {model.name}")
            )

    def _count(self, what: str) -> None:
        with self.lock:
            self.calls.append(what)

    # -- platform ----------------------------------------------------------------------------

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(
                f"{response.request.method} {response.request.url}: "
                f"{response.status_code} {response.text[:300]}"
            )
        return response.json()

    def events(self) -> list[dict[str, Any]]:
        return list(self._ok(self.http.get(f"/events/{self.ws_id}")))

    # -- waits -------------------------------------------------------------------------------

    def observe(self) -> Stable | None:
        ws = self._ok(self.http.get(f"/workspaces/{self.ws_id}"))
        if ws["status"] != "online" or ws.get("restart_pending"):
            return None
        answer = self.ec2.describe_instances(
            Filters=[
                {"Name": "tag:WorkspaceId", "Values": [self.ws_id]},
                {"Name": "instance-state-name", "Values": ["pending", "running"]},
            ]
        )
        running = [
            i["InstanceId"]
            for r in answer["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] == "running"
        ]
        if running != [ws["instance_id"]]:
            return None
        info = self.ssm.describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": running}]
        )["InstanceInformationList"]
        if not info or info[0].get("PingStatus") != "Online":
            return None
        return Stable(ws["instance_id"], ws["generation"])

    def wait(self, what: str, done: Callable[[Stable], bool]) -> Stable:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            stable = self.observe()
            if stable is not None and done(stable):
                return stable
            time.sleep(POLL_S)
        raise AssertionError(f"straight gate: timed out waiting for {what}")

    def wait_fresh(self, before: Stable, after_event: int) -> Stable:
        def fresh(stable: Stable) -> bool:
            if stable.instance_id == before.instance_id:
                return False
            later = [e for e in self.events() if e["id"] > after_event]
            kinds = [e["type"] for e in later if e["type"] in LIFECYCLE]
            return "WORKSPACE_RESTARTING" in kinds and kinds[-1] == "WORKSPACE_ONLINE"

        return self.wait("a fresh box", fresh)

    def wait_reconciled(self, plugins: list[str]) -> Stable:
        def reconciled(stable: Stable) -> bool:
            installed = {
                p["name"] for p in self._ok(self.http.get(f"/workspaces/{self.ws_id}/plugins"))
            }
            if not set(plugins) <= installed:
                return False
            events = self.events()
            last = max(i for i, e in enumerate(events) if e["type"] == "PLUGIN_INSTALLED")
            kinds = [e["type"] for e in events[last:] if e["type"] in LIFECYCLE]
            return "WORKSPACE_RESTARTING" in kinds and kinds[-1] == "WORKSPACE_ONLINE"

        return self.wait("plugin reconcile", reconciled)

    # -- SSM ---------------------------------------------------------------------------------

    def run(self, instance_id: str, script: str) -> str:
        command = self.ssm.send_command(
            InstanceIds=[instance_id],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": [script]},
        )["Command"]["CommandId"]
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                answer = self.ssm.get_command_invocation(CommandId=command, InstanceId=instance_id)
            except self.ssm.exceptions.InvocationDoesNotExist:
                answer = {"Status": "Pending"}
            if answer["Status"] == "Success":
                return str(answer["StandardOutputContent"])
            if answer["Status"] not in ("Pending", "InProgress", "Delayed"):
                raise AssertionError(f"straight gate: {answer['Status']}: {answer}")
            time.sleep(SSM_POLL_S)
        raise AssertionError("straight gate: command timed out")

    def manifest(self, instance_id: str, root: str) -> dict[str, str]:
        out = self.run(instance_id, MANIFEST.format(root=root))
        pairs = (line.split("  ", 1) for line in out.splitlines())
        return {path.removeprefix("./"): sha for sha, path in pairs}

    def verify(self, stable: Stable, expected: dict[str, str], plugin: dict[str, str]) -> None:
        with ThreadPoolExecutor(2) as pool:
            configs = pool.submit(self.manifest, stable.instance_id, "/configs")
            workspace = pool.submit(self.manifest, stable.instance_id, "/workspace")
            seen = {f"/configs/{p}": s for p, s in configs.result().items()}
            seen |= {f"/workspace/{p}": s for p, s in workspace.result().items()}
        self._ok(self.http.get(f"/workspaces/{self.ws_id}/plugins"))
        after = self.observe()
        if after != stable:
            raise AssertionError(f"straight gate: box changed while reading: {stable} → {after}")
        owned = {
            p: s
            for p, s in seen.items()
            if p == "/configs/config.yaml" or p.startswith("/configs/prompts/")
        }
        want_owned = {
            p: s
            for p, s in expected.items()
            if p.startswith("/configs/")
            and (p == "/configs/config.yaml" or p.startswith("/configs/prompts/"))
        }
        if owned != want_owned:
            raise AssertionError(
                f"straight gate: template files differ: {sorted(set(owned) ^ set(want_owned))}"
            )
        for path, sha in expected.items():
            if seen.get(path) != sha:
                raise AssertionError(f"straight gate: {path} differs or is missing")
        for path, sha in plugin.items():
            if seen.get(path) != sha:
                raise AssertionError(f"straight gate: plugin file {path} differs or is missing")

    # -- the gate ----------------------------------------------------------------------------

    def run_gate(self) -> int:
        """Returns the number of verifications; raises AssertionError when something is off."""
        template = _files(TEMPLATE)
        name = f"straight-{self.tag}"
        self._ok(
            self.http.post(
                "/templates/import",
                json={"name": name, "files": {p: d.decode() for p, d in template.items()}},
            )
        )
        self.ws_id = self._ok(self.http.post("/workspaces", json={"name": name, "template": name}))[
            "id"
        ]
        expected = {
            f"/configs/{p}": _sha(d)
            for p, d in template.items()
            if p == "config.yaml" or p.startswith("prompts/")
        }
        declared = yaml.safe_load(template["config.yaml"]).get("plugins") or []
        self.wait("online", lambda s: True)
        stable = (
            self.wait_reconciled([str(p) for p in declared])
            if declared
            else self.wait("stable", lambda s: True)
        )
        self.verify(stable, expected, {})
        verified = 1

        user = {
            "/configs/CLAUDE.md": f"# mine {self.tag}\n".encode(),
            "/configs/MEMORY.md": f"- remember {self.tag}\n".encode(),
            "/configs/.claude/settings.local.json": b'{"run": "%s"}\n' % self.tag.encode(),
            "/workspace/README.md": f"workspace {self.tag}\n".encode(),
            "/workspace/data/crawl.log": b"".join(b"line %05d\n" % n for n in range(900)),
        }
        script = "set -e\n" + "\n".join(
            f"mkdir -p \"$(dirname '{p}')\"\nprintf %s {b64(d)} | base64 -d > '{p}'"
            for p, d in user.items()
        )
        self.run(stable.instance_id, script)
        expected |= {p: _sha(d) for p, d in user.items()}
        self.verify(stable, expected, {})

        plugin = {
            f"/configs/plugins/seo-all/{p}": _sha(d) for p, d in _files(PLUGINS / "seo-all").items()
        }
        triggers: list[Callable[[], Any]] = [
            lambda: self.http.post(
                f"/workspaces/{self.ws_id}/plugins", json={"source": "local://seo-all"}
            )
        ] + [lambda: self.http.post(f"/workspaces/{self.ws_id}/restart", json={})] * (
            self.restarts + 1
        )
        for trigger in triggers:
            before = self.observe() or stable
            last_event = self.events()[-1]["id"]
            self._ok(trigger())
            stable = self.wait_fresh(before, last_event)
            self.verify(stable, expected, plugin)
            verified += 1
        return verified

    def delete(self) -> None:
        if self.ws_id:
            self.http.delete(f"/workspaces/{self.ws_id}", params={"confirm": "true"})
        self.http.close()
