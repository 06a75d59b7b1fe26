"""A platform (+CP) under test: config over a temp dir, server thread, fake fleet, client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from reference.config import StackConfig
from reference.platform.testing.fake_fleet import FakeFleet, aws_client
from reference.platform.testing.moto_server import shared_moto_url
from reference.platform.testing.servers import ServerThread, free_port
from reference.platform.testing.waits import Eventually


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
