"""`--orgs`: the control plane's orgs of this harness, against the fake CP over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_tenant import NOW, RUN, Fake, env_for, serve

from e2e.sweep import main

OURS = f"e2e-20261125-{RUN}"


@pytest.fixture
def cp() -> Iterator[Fake]:
    with serve(Fake(NOW)) as running:
        yield running


def sweep_orgs(cp: Fake, tmp_path: Path, *argv: str, **env: str) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "orgs.json"
    argv = ("--orgs", "--now", NOW.isoformat(), "--summary", str(path), *argv)
    code = main(list(argv), env_for(cp, **env))
    return code, json.loads(path.read_text())


def cases(summary: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["case"] for r in summary["resources"]}


def plant(cp: Fake) -> None:
    cp.org(OURS, 150)
    cp.org("e2e-20261125-11251150cd34", 10)  # ours, young
    cp.org("e2e-tmpl-1a2b3c4d", 500)  # the product's own delivery gate: not ours
    cp.org("e2e-20261125-checkout", 500)
    cp.org("e2e-20261125-11250800ee00", None)  # no created_at: age unknown
    cp.org("e2e-20261125-11250700ff00", 400, status="purged")
    cp.org("acme-prod", 9000)


def test_org_sweep_deletes_stale_orgs_of_this_harness_only(cp: Fake, tmp_path: Path) -> None:
    plant(cp)
    code, summary = sweep_orgs(cp, tmp_path, "--yes")
    assert code == 0, summary
    assert cases(summary) == {
        OURS: "deleted",
        "e2e-20261125-11251150cd34": "kept young",
        "e2e-tmpl-1a2b3c4d": "kept foreign",
        "e2e-20261125-checkout": "kept foreign",
        "e2e-20261125-11250800ee00": "kept unknown age",
        "e2e-20261125-11250700ff00": "already gone",
    }
    assert cp.deletes() == [f"/cp/admin/tenants/{OURS}"]  # with {"confirm": slug}: else 400
    assert summary["ignored_non_e2e"] == 1


def test_org_sweep_is_a_dry_run_by_default(cp: Fake, tmp_path: Path) -> None:
    plant(cp)
    code, summary = sweep_orgs(cp, tmp_path)
    assert code == 0
    assert cp.deletes() == []
    assert cases(summary)[OURS] == "would delete"


def test_more_stale_orgs_than_the_cap_deletes_none_and_fails(cp: Fake, tmp_path: Path) -> None:
    for n in range(3):
        cp.org(f"e2e-20261125-1125093{n}ab12", 150)
    code, summary = sweep_orgs(cp, tmp_path, "--yes", "--max-deletions", "2")
    assert code == 1
    assert cp.deletes() == []
    assert "3 stale e2e orgs, more than the cap of 2: deleting none" in summary["error"]
    assert set(cases(summary).values()) == {"kept over cap"}


def test_org_sweep_needs_its_env_and_an_allowed_host(cp: Fake, tmp_path: Path) -> None:
    plant(cp)
    code, summary = sweep_orgs(cp, tmp_path, "--yes", E2E_CP_ADMIN_TOKEN="")
    assert code == 2 and "set E2E_CP_ADMIN_TOKEN" in summary["error"]
    code, summary = sweep_orgs(cp, tmp_path, "--yes", E2E_CP_URL="https://cp.example.org")
    assert code == 2 and "cp.example.org is not in E2E_SWEEP_ALLOWED_HOSTS" in summary["error"]
    assert cp.calls == []
