"""The gate as a straight-line script: bare httpx + boto3 against the product's API, making the
calls the harness's gate makes, in the same order, and nothing else.

import the template → create the workspace (`compute.data_persistence = persist`) → poll until
stable (GET the workspace; when online, EC2 DescribeInstances by the product's tags
`Name=ws-tenant-*-<id8>*` + `Role=workspace`, then SSM PingStatus of the one running box) → the
reconcile's restart (events first; the box only once a restart followed the first online) →
verify → seed user files over SSM and read them back → install the plugin (its automatic
restart may be dropped inside the product's window: then the plugin must be on the current
box) → verify → a manual restart and E2E_RESTARTS more, each verified → the event timeline.
Events are kept by id (the product answers the newest 100, newest first); "after a trigger" is
"not among the ids seen before it". A verification is two manifests over SSM, the two
plugin-touched files read when they changed, and one closing look.

What it leaves out is the harness: no bracketing retries, no diffs or reports, no retries of
failed calls. It checks the invariant with the same expected bytes (the fixtures, and
e2e.harness.effects for what plugins may change), so a broken stack fails it too: it is the
baseline of bench_overhead.py, not a second gate.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import httpx
from calls import Calls
from straight_ssm import BoxOverSsm, Failed

from e2e.harness.effects import PluginEffects, plugin_files
from e2e.harness.fixture import TemplateFixture, is_template_owned, is_user_config
from e2e.harness.gate import user_files
from e2e.harness.profiles import Profile
from e2e.harness.settings import PLUGINS_FIXTURE
from e2e.harness.target import Target

PROVISIONING, ONLINE = "WORKSPACE_PROVISIONING", "WORKSPACE_ONLINE"
LIFECYCLE = (PROVISIONING, ONLINE, "WORKSPACE_OFFLINE", "WORKSPACE_PROVISION_FAILED")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class StraightGate:
    def __init__(self, target: Target, profile: Profile, restarts: int, tag: str) -> None:
        auth = {"Authorization": f"Bearer {target.admin_token}", "X-Molecule-Org-Id": target.org_id}
        self.http = httpx.Client(
            base_url=target.platform_url, headers=auth, timeout=profile.http_timeout_s
        )
        aws = {
            "endpoint_url": target.aws_endpoint_url,
            "region_name": target.region,
            "aws_access_key_id": target.aws_access_key_id,
            "aws_secret_access_key": target.aws_secret_access_key,
        }
        self.ec2, self.ssm = boto3.client("ec2", **aws), boto3.client("ssm", **aws)
        self.calls = Calls(keep_order=True)
        self.calls.watch_http(self.http)
        self.calls.watch_aws(self.ec2, self.ssm)
        self.profile, self.restarts, self.tag = profile, restarts, tag
        self.name = f"straight-{tag}"
        self.ws = ""
        self.events: dict[str, tuple[datetime, int, dict[str, Any]]] = {}
        self.seen: dict[str, datetime] = {}  # every instance ever seen, first-seen order
        self.status = ""  # of the last look
        self.running: str | None = None  # its one running instance, if exactly one was live
        self.box: str | None = None  # that instance, when the look was stable
        self.box_ssm = BoxOverSsm(self.ssm, profile)
        self.install_restarted = False

    # -- platform ----------------------------------------------------------------------------
    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            request = response.request
            raise Failed(
                f"{request.method} {request.url.path}: {response.status_code} {response.text[:300]}"
            )
        return response.json()

    def timeline(self) -> list[dict[str, Any]]:
        """GET /events/:id merged into every event seen, by created_at (ties: seen order)."""
        page = self._ok(self.http.get(f"/events/{self.ws}"))
        for event in reversed(page):
            if event["id"] not in self.events:
                at = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))
                self.events[event["id"]] = (at, len(self.events), event)
        return [e for _, _, e in sorted(self.events.values(), key=lambda r: r[:2])]

    # -- looks and waits ---------------------------------------------------------------------
    def look(self, candidate: bool = True) -> bool:
        """Stable: online, one running box, SSM Online (the box is kept in `self.box`)."""
        self.box = self.running = None
        response = self.http.get(f"/workspaces/{self.ws}")
        self.status = "removed" if response.status_code == 410 else self._ok(response)["status"]
        if not candidate or self.status != "online":
            return False
        live = [i for i in self.instances() if i["State"]["Name"] in ("pending", "running")]
        if len(live) != 1 or live[0]["State"]["Name"] != "running":
            return False
        self.running = live[0]["InstanceId"]
        if self.box_ssm.ping(self.running) != "Online":
            return False
        self.box = self.running
        return True

    def instances(self) -> list[dict[str, Any]]:
        found = self.ec2.describe_instances(
            Filters=[
                {"Name": "tag:Name", "Values": [f"ws-tenant-*-{self.ws[:8]}*"]},
                {"Name": "tag:Role", "Values": ["workspace"]},
            ]
        )
        out = [i for r in found["Reservations"] for i in r["Instances"]]
        for i in sorted(out, key=lambda i: i["LaunchTime"]):
            self.seen.setdefault(i["InstanceId"], i["LaunchTime"])
        return out

    def poll(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """As the harness's `fast` profile polls: every poll_s for 2 s, then slower."""
        started = time.monotonic()
        interval = self.profile.poll_s
        while not done():
            elapsed = time.monotonic() - started
            if elapsed >= timeout_s:
                return False
            time.sleep(min(interval, timeout_s - elapsed))
            if elapsed >= 2.0:
                interval = min(interval * 1.5, self.profile.poll_s * 8)
        return True

    def wait(self, what: str, done: Callable[[], bool], timeout_s: float) -> None:
        if not self.poll(done, timeout_s):
            raise Failed(f"{self.name}: timed out waiting for {what}")

    def mark(self) -> tuple[set[str], str | None, set[str]]:
        """Before a trigger, on a stable box: the instances and event ids seen so far."""
        if self.box is None:
            self.wait("a stable box", self.look, self.profile.online_s)
        box = self.box
        self.instances()
        self.timeline()
        return set(self.events), box, set(self.seen)

    def settled(self, after: list[dict[str, Any]], cycles: int = 1) -> bool:
        life = [e for e in after if e["event_type"] in LIFECYCLE]
        kinds = [e["event_type"] for e in life]
        if kinds.count(PROVISIONING) < cycles:
            return False
        return kinds[-1] == ONLINE and len(kinds) - 1 > max(
            i for i, k in enumerate(kinds) if k == PROVISIONING
        )

    def fresh(self, marker: tuple[set[str], str | None, set[str]]) -> bool:
        if not self.look() or self.box == marker[1]:
            return False
        after = [e for e in self.timeline() if e["id"] not in marker[0]]
        launched = [i for i in self.seen if i not in marker[2]]
        return self.settled(after) and bool(launched) and launched[-1] == self.box

    def reconciled(self) -> bool:
        events = self.timeline()
        onlines = [i for i, e in enumerate(events) if e["event_type"] == ONLINE]
        after = events[onlines[0] + 1 :] if onlines else []
        restarted = any(e["event_type"] == PROVISIONING for e in after)
        return self.look(candidate=restarted) and self.settled(after)

    # -- the invariant -----------------------------------------------------------------------
    def verify(self, label: str, state: dict[str, Any]) -> dict[str, str]:
        """Check the invariant on the current box; its user files (path → sha256)."""
        if self.box is None:
            self.wait("a stable box", self.look, self.profile.online_s)
        box = self.box
        assert box is not None
        self.box_ssm.online(box)
        with ThreadPoolExecutor(2) as pool:
            halves = pool.map(
                lambda root: self.box_ssm.manifest(box, root), ("/configs", "/workspace")
            )
            seen = {k: v for half in halves for k, v in half.items()}
        problems = self.problems(box, seen, state)
        if not self.look() or self.box != box:
            raise Failed(f"{self.name}: the box changed while {label} was read")
        if problems:
            raise Failed(f"{self.name}: invariant violated {label}: {problems}")
        user = {p: s for p, s in seen.items() if self.is_user(p)}
        if state["user"] is not None:  # "before the next restart"
            state["user"] = user
        return user

    @staticmethod
    def is_user(path: str) -> bool:
        return path.startswith("/workspace/") or is_user_config(path.removeprefix("/configs/"))

    def problems(self, box: str, seen: dict[str, str], state: dict[str, Any]) -> list[str]:
        owned = {p: s for p, s in seen.items() if is_template_owned(p.removeprefix("/configs/"))}
        out = [] if owned == state["template"] else ["template files differ"]
        for name, files in state["plugins"].items():
            got = {p: s for p, s in seen.items() if p.startswith(f"/configs/plugins/{name}/")}
            if got != {f"/configs/plugins/{name}/{r}": sha(d) for r, d in files.items()}:
                out.append(f"plugin {name} differs")
        if state.get("user") is None:
            return out
        effects = PluginEffects.of(state["plugins"])
        user = {p: s for p, s in seen.items() if self.is_user(p)}
        for path in sorted(set(user) | set(state["user"])):
            if user.get(path) == state["user"].get(path):
                continue
            rel = path.removeprefix("/configs/")
            if rel in ("CLAUDE.md", ".claude/settings.json") and path in user:
                check = effects.check_claude_md if rel == "CLAUDE.md" else effects.check_settings
                out += check(state["written"].get(path), self.box_ssm.read(box, path))
            elif rel in effects.commands and path not in state["user"]:
                out += [] if user[path] == sha(effects.commands[rel]) else [f"{path} differs"]
            else:
                out.append(f"{path} differs")
        return out

    # -- the gate ----------------------------------------------------------------------------
    def run_gate(self, template_dir: Path, plugin: str) -> int:
        """The number of verifications; raises Failed when something is off."""
        fixture = TemplateFixture.from_dir(template_dir)
        imported = {"name": self.name, "files": fixture.import_payload()}
        template = self._ok(self.http.post("/templates/import", json=imported))["id"]
        persist = {"data_persistence": "persist"}
        body = {"name": self.name, "template": template, "compute": persist}
        self.ws = self._ok(self.http.post("/workspaces", json=body))["id"]
        declared = fixture.declared_plugins()
        state: dict[str, Any] = {
            "template": {f"/configs/{r}": sha(d) for r, d in fixture.owned.items()},
            "plugins": {n: plugin_files(PLUGINS_FIXTURE / n) or {} for n in declared},
            "user": None,
            "written": {},
        }
        self.wait("online", self.look, self.profile.online_s)
        if declared:
            self.wait("the reconcile's restart", self.reconciled, self.profile.reconcile_s)
        self.verify("after first provision", state)
        assert self.box is not None
        files = user_files(self.tag)
        self.box_ssm.write(self.box, files)
        state["user"] = self.verify("after seeding", state)  # the seeded files, read back
        state["written"] = files
        if [p for p, d in files.items() if state["user"].get(p) != sha(d)]:
            raise Failed(f"{self.name}: the seeded files did not read back")
        marker = self.mark()
        source = {"source": f"local://{plugin}"}
        self._ok(self.http.post(f"/workspaces/{self.ws}/plugins", json=source))
        state["plugins"][plugin] = plugin_files(PLUGINS_FIXTURE / plugin) or {}

        def restart_began() -> bool:
            self.look()
            after = [e for e in self.timeline() if e["id"] not in marker[0]]
            began = any(e["event_type"] == PROVISIONING for e in after)
            return began or self.status != "online" or self.running != marker[1]

        self.install_restarted = self.poll(restart_began, self.profile.auto_restart_grace_s)
        if self.install_restarted:
            self.wait("the fresh box", partial(self.fresh, marker), self.profile.restart_s)
        else:  # dropped inside the product's window: the plugin must be on the current box
            assert marker[1] is not None
            self.box_ssm.run(marker[1], f"test -d /configs/plugins/{plugin}")
        self.verify("after plugin install", state)
        for n in range(self.restarts + 1):
            marker = self.mark()
            self._ok(self.http.post(f"/workspaces/{self.ws}/restart", json={}))
            self.wait("the fresh box", partial(self.fresh, marker), self.profile.restart_s)
            self.verify(f"after manual restart {n + 1}", state)
        self.timeline()  # the harness fetches the timeline at the end, for its report
        return self.restarts + 3

    def delete(self) -> None:
        """DELETE with the name confirmed and the data erased; wait until no box is live."""
        if self.ws:
            self.http.get(f"/workspaces/{self.ws}")
            self.http.delete(
                f"/workspaces/{self.ws}",
                params={"erase_data": "true"},
                headers={"X-Confirm-Name": self.name},
            )
            self.wait("no live box", self.no_live_box, self.profile.delete_s)
        self.http.close()

    def no_live_box(self) -> bool:
        return not [i for i in self.instances() if i["State"]["Name"] in ("pending", "running")]
