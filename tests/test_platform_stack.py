"""The platform and CP end to end on the real reference stack (moto, fleet, bubblewrap boxes).

These prove the pieces fit: what the CP stages is what the real box writes, a restart re-delivers
the template, the historical incident reproduces exactly under its fault, delete leaves nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference.config import FIXTURE_TEMPLATES
from reference.controlplane.backends import secret_id_for
from reference.platform.testing import Eventually, ServedStack

SEO = FIXTURE_TEMPLATES / "seo-agent"
SMALL = {
    "config.yaml": "name: small\nrole: tester\nprompt_files:\n  - prompts/system.md\n",
    "prompts/system.md": "You are small.\n",
    "prompts/more/extra.md": "extra\n",
    "CLAUDE.md": "template default\n",
}


def owned(root: Path) -> dict[str, str]:
    """sha256 of every template-owned file under `root` (config.yaml, prompts/**)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and (rel == "config.yaml" or rel.startswith("prompts/")):
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def wait_online(client: httpx.Client, ws_id: str, generation: int) -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        return dict(client.get(f"/workspaces/{ws_id}").json())

    return dict(
        Eventually.wait(
            probe,
            lambda ws: (
                ws.get("status") == "online"
                and ws["generation"] >= generation
                and not ws["restart_pending"]
            ),
            f"{ws_id} online at generation >= {generation}",
            timeout_s=30,
        )
    )


def volume_dir(stack: ServedStack, ws_id: str) -> Path:
    vols = stack.aws("ec2").describe_volumes(
        Filters=[{"Name": "tag:WorkspaceId", "Values": [ws_id]}]
    )["Volumes"]
    assert len(vols) == 1, vols
    return stack.state_dir / "volumes" / vols[0]["VolumeId"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ServedStack]:
    with ServedStack(tmp_path / "state") as served:
        yield served


def test_create_reconcile_restart_delete_on_the_real_stack(stack: ServedStack) -> None:
    with stack.admin() as client:
        created = client.post("/workspaces", json={"name": "real", "template": "seo-agent"})
        assert created.status_code == 201, created.text
        ws_id = created.json()["id"]
        wait_online(client, ws_id, 2)  # seo-agent declares seo-all: reconcile restarts once
        configs = volume_dir(stack, ws_id) / "configs"
        assert owned(configs) == owned(SEO)
        assert (
            not (configs / "CLAUDE.md").exists()
            or (configs / "CLAUDE.md").read_bytes() != (SEO / "CLAUDE.md").read_bytes()
        )
        assert (configs / "plugins" / "seo-all" / "plugin.yaml").is_file()
        (configs / "MEMORY.md").write_text("user memory\n")
        before = client.get(f"/workspaces/{ws_id}").json()
        assert client.post(f"/workspaces/{ws_id}/restart", json={}).status_code == 200
        after = wait_online(client, ws_id, before["generation"] + 1)
        assert after["instance_id"] != before["instance_id"]
        assert owned(configs) == owned(SEO)
        assert (configs / "MEMORY.md").read_text() == "user memory\n"
        assert (configs / "plugins" / "seo-all" / "plugin.yaml").is_file()
        assert set(after["agent_card"]["prompts"]) == {
            p for p in owned(SEO) if p.startswith("prompts/")
        }

        assert client.delete(f"/workspaces/{ws_id}", params={"confirm": "true"}).status_code == 200
        ec2 = stack.aws("ec2")
        live = ec2.describe_instances(
            Filters=[
                {"Name": "tag:WorkspaceId", "Values": [ws_id]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]},
            ]
        )["Reservations"]
        assert live == []
        vols = ec2.describe_volumes(Filters=[{"Name": "tag:WorkspaceId", "Values": [ws_id]}])
        assert vols["Volumes"] == []
        sm = stack.aws("secretsmanager")
        with pytest.raises(sm.exceptions.ResourceNotFoundException):
            sm.get_secret_value(SecretId=secret_id_for(ws_id))


def test_restart_drops_template_reproduces_the_incident_on_the_real_box(tmp_path: Path) -> None:
    """After a restart the box holds the 218-byte stub and no prompts (and not before)."""
    served = ServedStack(tmp_path / "state", faults_on="restart-drops-template")
    with served as stack, stack.admin() as client:
        imported = client.post("/templates/import", json={"name": "small", "files": SMALL})
        assert imported.status_code == 201, imported.text
        ws_id = client.post("/workspaces", json={"name": "inc", "template": "small"}).json()["id"]
        wait_online(client, ws_id, 1)
        configs = volume_dir(stack, ws_id) / "configs"
        assert sorted(owned(configs)) == [
            "config.yaml",
            "prompts/more/extra.md",
            "prompts/system.md",
        ]
        client.post(f"/workspaces/{ws_id}/restart", json={})
        Eventually.wait(
            lambda: client.get(f"/workspaces/{ws_id}").json(),
            lambda ws: ws["generation"] >= 2 and ws["status"] in ("online", "failed"),
            "the restarted box to come up",
            timeout_s=30,
        )
        assert (configs / "config.yaml").stat().st_size == 218
        assert sorted(owned(configs)) == ["config.yaml"]
