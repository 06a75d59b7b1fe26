"""Each platform/CP fault switch produces exactly its documented defect (and only when on)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from reference import faults
from reference.config import KNOWN_FAULTS
from reference.controlplane.backends import secret_id_for
from reference.platform.testing import (
    MINI_TEMPLATE,
    PlatformUnderTest,
    aws_client,
    make_config,
    write_template,
)

TEMPLATE_OWNED = ["config.yaml", "prompts/deep/nested.md", "prompts/system.md"]


def test_every_known_fault_is_documented_in_one_sentence() -> None:
    assert set(faults.FAULT_DOCS) == set(KNOWN_FAULTS)
    for name, doc in faults.FAULT_DOCS.items():
        assert doc.endswith("."), name
        assert len(re.findall(r"[.!?](\s|$)", doc)) == 1, f"{name}: {doc!r} is not one sentence"


def test_unknown_fault_name_is_a_loud_error() -> None:
    with pytest.raises(KeyError):
        faults.is_on(frozenset(), "restart-drops-templates")


@contextmanager
def running(tmp_path: Path, *names: str, backend: str = "saas") -> Iterator[PlatformUnderTest]:
    config = make_config(tmp_path, faults_on=frozenset(names), backend=backend)
    write_template(
        config.template_roots[1],
        "with-plugins",
        {**MINI_TEMPLATE, "config.yaml": "name: wp\nplugins: [seo-all]\n"},
    )
    with PlatformUnderTest(config) as put:
        yield put


def owned_files(configs: Path) -> list[str]:
    found = [p.relative_to(configs).as_posix() for p in configs.rglob("*") if p.is_file()]
    return sorted(p for p in found if p == "config.yaml" or p.startswith("prompts/"))


def delivered(put: PlatformUnderTest, ws_id: str) -> dict[str, str]:
    sm = aws_client(put.config, "secretsmanager")
    raw = sm.get_secret_value(SecretId=secret_id_for(ws_id))["SecretString"]
    return dict(json.loads(raw)["config_files"])


def restart(put: PlatformUnderTest, ws_id: str, generation: int) -> dict[str, object]:
    assert put.client.post(f"/workspaces/{ws_id}/restart", json={}).status_code == 200
    return put.wait_online(ws_id, generation)


@pytest.mark.parametrize("on", [False, True])
def test_restart_drops_template_reproduces_the_incident(tmp_path: Path, on: bool) -> None:
    names = [faults.RESTART_DROPS_TEMPLATE] if on else []
    with running(tmp_path, *names) as put:
        ws_id = put.create()
        put.wait_online(ws_id)
        configs = put.volume_of(ws_id) / "configs"
        assert owned_files(configs) == TEMPLATE_OWNED  # first provision is fine either way
        restart(put, ws_id, 2)
        if on:
            assert delivered(put, ws_id) == {}
            assert (configs / "config.yaml").stat().st_size == 218
            assert owned_files(configs) == ["config.yaml"]  # the stub, and no prompts
        else:
            assert sorted(delivered(put, ws_id)) == TEMPLATE_OWNED
            assert (configs / "config.yaml").read_text() == MINI_TEMPLATE["config.yaml"]


def test_reconcile_drops_template_hits_only_the_reconcile_restart(tmp_path: Path) -> None:
    with running(tmp_path, faults.RECONCILE_DROPS_TEMPLATE) as put:
        ws_id = put.create(template="with-plugins")
        put.wait_online(ws_id, 2)  # after the reconcile restart
        configs = put.volume_of(ws_id) / "configs"
        assert (configs / "config.yaml").stat().st_size == 218
        assert owned_files(configs) == ["config.yaml"]
        restart(put, ws_id, 3)  # a manual restart delivers the template again
        assert (configs / "config.yaml").read_text() == "name: wp\nplugins: [seo-all]\n"


def test_drop_prompts_delivers_config_without_prompts(tmp_path: Path) -> None:
    with running(tmp_path, faults.DROP_PROMPTS) as put:
        ws_id = put.create()
        put.wait_online(ws_id)
        assert sorted(delivered(put, ws_id)) == ["config.yaml"]
        assert owned_files(put.volume_of(ws_id) / "configs") == ["config.yaml"]


def test_no_allowlist_overwrites_the_users_claude_md(tmp_path: Path) -> None:
    with running(tmp_path, faults.NO_ALLOWLIST) as put:
        ws_id = put.create()
        put.wait_online(ws_id)
        configs = put.volume_of(ws_id) / "configs"
        (configs / "CLAUDE.md").write_text("the user's own")
        restart(put, ws_id, 2)
        assert "CLAUDE.md" in delivered(put, ws_id)
        assert ".claude/settings.json" in delivered(put, ws_id)
        assert (configs / "CLAUDE.md").read_text() == MINI_TEMPLATE["CLAUDE.md"]


def test_fresh_volume_loses_user_files(tmp_path: Path) -> None:
    with running(tmp_path, faults.FRESH_VOLUME) as put:
        ws_id = put.create()
        put.wait_online(ws_id)
        before = put.volume_of(ws_id)
        (before / "configs" / "MEMORY.md").write_text("remember me")
        restart(put, ws_id, 2)
        after = put.volume_of(ws_id)  # exactly one volume: the old one was deleted
        assert after != before
        assert not (after / "configs" / "MEMORY.md").exists()
        assert owned_files(after / "configs") == TEMPLATE_OWNED


def test_plugin_lost_serves_the_plugin_only_once(tmp_path: Path) -> None:
    with running(tmp_path, faults.PLUGIN_LOST) as put:
        ws_id = put.create()
        put.wait_online(ws_id)
        put.client.post(f"/workspaces/{ws_id}/plugins", json={"source": "local://seo-all"})
        put.wait_online(ws_id, 2)
        plugin = put.volume_of(ws_id) / "configs/plugins/seo-all/plugin.yaml"
        assert plugin.is_file()
        restart(put, ws_id, 3)
        assert not plugin.exists()
        listed = put.client.get(f"/workspaces/{ws_id}/plugins").json()
        assert [p["name"] for p in listed] == ["seo-all"]  # the platform still believes it


def test_late_reconcile_fires_after_the_delay_and_converges(tmp_path: Path) -> None:
    with running(tmp_path, faults.LATE_RECONCILE) as put:
        ws_id = put.create(template="with-plugins")
        put.wait_online(ws_id)
        ws = put.wait_online(ws_id, 2)
        events = put.events(ws_id)
        first_online = next(e for e in events if e["type"] == "WORKSPACE_ONLINE")
        reconcile = next(e for e in events if e["type"] == "PLUGIN_INSTALLED")
        gap = datetime.fromisoformat(reconcile["created_at"]) - datetime.fromisoformat(
            first_online["created_at"]
        )
        assert gap.total_seconds() >= faults.LATE_RECONCILE_DELAY_S
        assert ws["generation"] == 2
        assert (put.volume_of(ws_id) / "configs/plugins/seo-all/plugin.yaml").is_file()


def test_platform_5xx_fails_every_third_admin_get_only(tmp_path: Path) -> None:
    config = make_config(tmp_path, faults_on=frozenset({faults.PLATFORM_5XX}))
    with PlatformUnderTest(config, with_fleet=False) as put:
        codes = [put.client.get("/templates").status_code for _ in range(6)]
        assert codes == [200, 200, 503, 200, 200, 503]
        third = [put.client.get("/workspaces") for _ in range(3)][-1]
        assert third.status_code == 503 and "platform-5xx" in third.json()["error"]
        assert all(put.client.get("/health").status_code == 200 for _ in range(6))
        posts = [
            put.client.post("/templates/import", json={"name": f"t{i}", "files": {"a": "b"}})
            for i in range(3)
        ]
        assert [p.status_code for p in posts] == [201, 201, 201]


def test_docker_backend_restart_delivers_nothing_and_keeps_configs(tmp_path: Path) -> None:
    with running(tmp_path, backend="docker") as put:
        ws_id = put.create()
        put.wait_online(ws_id)
        configs = put.volume_of(ws_id) / "configs"
        (configs / "prompts" / "system.md").write_text("edited in the volume")
        restart(put, ws_id, 2)
        assert (configs / "prompts" / "system.md").read_text() == "edited in the volume"
        assert owned_files(configs) == TEMPLATE_OWNED
