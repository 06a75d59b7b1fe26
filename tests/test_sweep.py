"""The sweeper against a fake tenant over real HTTP (support/fake_tenant.py): what it deletes,
what it keeps and says why, that one workspace's trouble never stops the rest, and that the
summary is there whatever happened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_tenant import LIVE, NOW, RUN, TOKEN, Fake, env_for, serve

from e2e.sweep import main


@pytest.fixture
def fake() -> Iterator[Fake]:
    with serve(Fake(NOW)) as running:
        yield running


def sweep(fake: Fake, tmp_path: Path, *argv: str, **env: str) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "sweep.json"
    code = main(["--now", NOW.isoformat(), "--summary", str(path), *argv], env_for(fake, **env))
    return code, json.loads(path.read_text())


def cases(summary: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["case"] for r in summary["resources"]}


def plant_everything(fake: Fake) -> dict[str, str]:
    fake.template(f"e2e-{RUN}-gw0-tpl-1")
    fake.template(f"e2e-{LIVE}-main-tpl-1")
    ids = {
        "stale": fake.aged(f"e2e-{RUN}-gw0-gate-2", 150, last=140),
        "checkout": fake.aged("e2e-checkout-main-flow-1", 1000),
        "no template": fake.aged("e2e-11250800ee00-gw1-gate-3", 240),
        "naive": fake.aged(f"e2e-{RUN}-gw1-gate-4", 150, zone=False),
        "recent event": fake.aged(f"e2e-{RUN}-gw0-gate-5", 150, last=10),
        "young": fake.aged(f"e2e-{LIVE}-main-gate-6", 9),
        "hangs": fake.aged(f"e2e-{RUN}-gw0-gate-7", 200),
        "parent": fake.aged(f"e2e-{RUN}-main-parent-8", 200),
    }
    ids["child"] = fake.aged(f"e2e-{RUN}-main-child-9", 180, parent=ids["parent"])
    ids["alice"] = fake.aged("alice-agent", 5000, parent=ids["parent"])  # another team's child
    fake.hang.add(ids["hangs"])
    return ids


def test_a_real_sweep_deletes_only_what_is_proven_ours_and_old(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = plant_everything(fake)
    code, summary = sweep(fake, tmp_path, "--yes", "--delete-timeout-s", "0.5")
    out = capsys.readouterr().out
    assert code == 1, out  # two workspaces failed; the sweep still went through all of them
    assert summary["complete"] and summary["error"] is None
    assert cases(summary) == {
        f"e2e-{RUN}-gw0-gate-2": "deleted",
        "e2e-checkout-main-flow-1": "kept foreign",
        "e2e-11250800ee00-gw1-gate-3": "kept foreign",
        f"e2e-{RUN}-gw1-gate-4": "kept unknown age",
        f"e2e-{RUN}-gw0-gate-5": "kept young",
        f"e2e-{LIVE}-main-gate-6": "kept young",
        f"e2e-{RUN}-gw0-gate-7": "failed",
        f"e2e-{RUN}-main-parent-8": "failed",
        f"e2e-{RUN}-main-child-9": "deleted",
    }
    by_name = {r["name"]: r for r in summary["resources"]}
    assert "ReadTimeout" in by_name[f"e2e-{RUN}-gw0-gate-7"]["error"]
    assert "never cascades" in by_name[f"e2e-{RUN}-main-parent-8"]["reason"]
    assert "HasChildren" in by_name[f"e2e-{RUN}-main-parent-8"]["error"]
    assert "not one this harness generates" in by_name["e2e-checkout-main-flow-1"]["reason"]
    assert "no template of run 11250800ee00" in by_name["e2e-11250800ee00-gw1-gate-3"]["reason"]
    assert "without a zone" in by_name[f"e2e-{RUN}-gw1-gate-4"]["reason"]
    assert "active" in by_name[f"e2e-{RUN}-gw0-gate-5"]["reason"]
    assert summary["ignored_non_e2e"] == 1  # alice-agent: counted, never listed
    # only those four DELETEs were sent; the child before its parent
    expected = [ids[k] for k in ("child", "stale", "hangs", "parent")]
    assert sorted(fake.deletes()) == sorted(f"/workspaces/{i}" for i in expected)
    assert fake.deletes().index(f"/workspaces/{ids['child']}") < fake.deletes().index(
        f"/workspaces/{ids['parent']}"
    )
    assert {"e2e-checkout-main-flow-1", "alice-agent", f"e2e-{RUN}-gw1-gate-4"} <= fake.names()
    assert TOKEN not in out + json.dumps(summary)


def test_no_flags_is_a_dry_run_that_says_so(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plant_everything(fake)
    code, summary = sweep(fake, tmp_path)
    out = capsys.readouterr().out
    assert code == 0
    assert fake.deletes() == []
    assert summary["mode"] == "dry run"
    assert cases(summary)[f"e2e-{RUN}-gw0-gate-2"] == "would delete"
    assert "dry run: nothing was deleted (pass --yes to delete)" in out


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        ("staging.example.com", None),  # the fake's 127.0.0.1 is not listed
        ("", None),  # nothing listed: nothing sweepable
        ("*.example.com", "http://evil-example.com:1/"),
        ("127.0.0.1:1", None),  # the right host on another port
    ],
)
def test_a_host_not_allowed_exits_2_before_any_request(
    fake: Fake, tmp_path: Path, allowed: str, url: str | None
) -> None:
    plant_everything(fake)
    extra = {"E2E_SWEEP_ALLOWED_HOSTS": allowed}
    if url:
        extra["E2E_PLATFORM_URL"] = url
    code, summary = sweep(fake, tmp_path, "--yes", **extra)
    assert code == 2
    assert fake.calls == []
    assert "is not in E2E_SWEEP_ALLOWED_HOSTS" in summary["error"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--older-than-minutes", "0"], "--older-than-minutes 0 needs --run-id"),
        (["--run-id", "checkout", "--older-than-minutes", "0"], "not a run id the harness"),
        (["--run-id", RUN[:-1]], "not a run id the harness"),  # a prefix is no run id
        (["--older-than-minutes", "-5"], "must be >= 0"),
        (["--orgs", "--wait-idle-minutes", "1"], "is for workspaces"),
    ],
)
def test_bad_input_is_refused_clearly_before_any_request(
    fake: Fake, tmp_path: Path, argv: list[str], said: str
) -> None:
    plant_everything(fake)
    code, summary = sweep(fake, tmp_path, "--yes", *argv)
    assert code == 2
    assert said in summary["error"]
    assert fake.calls == []


def test_a_paginated_listing_is_refused_and_nothing_is_deleted(fake: Fake, tmp_path: Path) -> None:
    plant_everything(fake)
    page = [w for w in fake.workspaces.values() if w["name"].endswith("gate-2")]
    fake.listing = {"workspaces": page, "next_cursor": "abc", "has_more": True}
    code, summary = sweep(fake, tmp_path, "--yes")
    assert code == 1
    assert fake.deletes() == []
    assert not summary["complete"]
    assert "paginated listing (has_more, next_cursor)" in summary["error"]
    assert "refusing to sweep a partial list" in summary["error"]


def test_a_run_id_is_compared_exactly_never_as_a_prefix(fake: Fake, tmp_path: Path) -> None:
    mine, other = "stg-11250930-4", "stg-11250930-42"
    for run in (mine, other):
        fake.template(f"e2e-{run}-main-tpl-1")
        fake.aged(f"e2e-{run}-main-gate-2", 1)
    code, summary = sweep(fake, tmp_path, "--yes", "--run-id", mine, "--older-than-minutes", "0")
    assert code == 0
    assert cases(summary) == {f"e2e-{mine}-main-gate-2": "deleted"}
    assert fake.names() == {f"e2e-{other}-main-gate-2"}


def test_teardown_leak_check_fails_while_anything_of_the_run_is_left(
    fake: Fake, tmp_path: Path
) -> None:
    fake.template(f"e2e-{RUN}-gw0-tpl-1")
    fake.aged(f"e2e-{RUN}-gw0-gate-2", 1)
    fake.hang.add(fake.aged(f"e2e-{RUN}-gw0-gate-3", 1))
    argv = ("--yes", "--run-id", RUN, "--older-than-minutes", "0", "--fail-on-leftovers")
    code, summary = sweep(fake, tmp_path, *argv, "--delete-timeout-s", "0.5")
    assert code == 1
    assert cases(summary)[f"e2e-{RUN}-gw0-gate-2"] == "deleted"
    fake.hang.clear()
    code, summary = sweep(fake, tmp_path, *argv)
    assert code == 0, summary
    code, summary = sweep(fake, tmp_path, *argv)  # nothing left: nothing to say
    assert code == 0 and summary["resources"] == []


def test_unreadable_events_fail_that_workspace_only(fake: Fake, tmp_path: Path) -> None:
    fake.template(f"e2e-{RUN}-gw0-tpl-1")
    broken = fake.aged(f"e2e-{RUN}-gw0-gate-2", 300)
    fake.events[broken] = [{"id": "x", "event_type": "E", "created_at": "yesterday"}]
    fake.aged(f"e2e-{RUN}-gw0-gate-3", 300)
    code, summary = sweep(fake, tmp_path, "--yes")
    assert code == 1
    assert cases(summary) == {
        f"e2e-{RUN}-gw0-gate-2": "failed",
        f"e2e-{RUN}-gw0-gate-3": "deleted",
    }
    assert "ApiDrift" in summary["resources"][0]["error"]
