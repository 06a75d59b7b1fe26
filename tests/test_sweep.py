"""The stale-resource sweeper: what it recognises, how it dates and caps, and (on the embedded
reference stack) that a dry run lists exactly the planted stale workspaces and a real run
deletes exactly those."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e import sweep
from e2e.harness.embedded import EmbeddedStack
from e2e.harness.platform import PlatformClient
from e2e.harness.settings import TEMPLATE_FIXTURE

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# -- recognising ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "run"),
    [
        ("e2e-11251136ab12-gw0-gate-seo-agent-3", "11251136ab12"),
        ("e2e-stg-11251136-42-main-template-1", "stg-11251136-42"),
        ("e2e-run1-gw12-x-10", "run1"),
        ("e2e-demo", None),  # a person's workspace: not our shape
        ("e2e-run1-gw0-x", None),  # no counter
        ("E2E-run1-gw0-x-1", None),
        ("prod-e2e-run1-gw0-x-1", None),
        ("seo-agent", None),
        ("e2e-run1-worker-x-1", None),  # unknown worker id
    ],
)
def test_recognises_only_run_id_names(name: str, run: str | None) -> None:
    assert sweep.e2e_run_of(name) == run


def test_run_filter_is_a_prefix_not_a_substring() -> None:
    assert sweep.belongs("e2e-abc-1-main-x-1", "abc-1")
    assert not sweep.belongs("e2e-abc-12-main-x-1", "abc-1")
    assert not sweep.belongs("e2e-xabc-1-main-x-1", "abc-1")
    assert sweep.belongs("e2e-abc-1-main-x-1", None)


def test_dates_from_the_run_id_stamp() -> None:
    assert sweep.run_id_time("e2e-11251136ab12-gw0-x-1", NOW) == datetime(
        2026, 11, 25, 11, 36, tzinfo=UTC
    )
    # a stamp later than now belongs to last year (run ids carry no year)
    assert sweep.run_id_time("e2e-12312359ab12-gw0-x-1", NOW) == datetime(
        2025, 12, 31, 23, 59, tzinfo=UTC
    )
    assert sweep.run_id_time("e2e-stg-11251136-42-main-x-1", NOW) is not None
    assert sweep.run_id_time("e2e-nostamp-main-x-1", NOW) is None
    assert sweep.run_id_time("e2e-13991136ab12-main-x-1", NOW) is None  # month 13


def test_parse_time_accepts_z_offsets_naive_and_epoch() -> None:
    want = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
    assert sweep.parse_time("2026-11-25T11:00:00Z") == want
    assert sweep.parse_time("2026-11-25T12:00:00+01:00") == want
    assert sweep.parse_time("2026-11-25T11:00:00") == want
    assert sweep.parse_time(want.timestamp()) == want
    assert sweep.parse_time("yesterday") is None
    assert sweep.parse_time(None) is None


# -- deciding --------------------------------------------------------------------------------


def _res(kind: str, name: str, minutes_old: float | None) -> sweep.Resource:
    created = None if minutes_old is None else NOW - timedelta(minutes=minutes_old)
    return sweep.Resource(kind, f"id-{name}", name, created, "created_at")


def _decide(resources: list[sweep.Resource], **kw: Any) -> dict[str, str]:
    options: dict[str, Any] = {
        "now": NOW,
        "older_than_minutes": 60,
        "run_id": None,
        "max_deletions": 10,
    }
    options.update(kw)
    return {d.resource.name: d.action for d in sweep.decide(resources, **options)}


def test_decides_by_age_and_never_touches_foreign_names() -> None:
    got = _decide(
        [
            _res("workspace", "e2e-r1-gw0-old-1", 61),
            _res("workspace", "e2e-r1-gw0-exact-2", 60),
            _res("workspace", "e2e-r1-gw0-young-3", 59),
            _res("workspace", "alice-agent", 999),
            _res("template", "e2e-r1-gw0-tpl-4", 500),
            _res("workspace", "e2e-r1-gw0-undated-5", None),
        ]
    )
    assert got == {
        "e2e-r1-gw0-old-1": "delete",
        "e2e-r1-gw0-exact-2": "delete",
        "e2e-r1-gw0-young-3": "keep",
        "e2e-r1-gw0-tpl-4": "delete",
        "e2e-r1-gw0-undated-5": "keep",
    }


def test_cap_keeps_the_youngest_and_deletes_workspaces_before_templates() -> None:
    resources = [
        _res("template", "e2e-r1-gw0-tpl-1", 900),
        _res("workspace", "e2e-r1-gw0-a-2", 100),
        _res("workspace", "e2e-r1-gw0-b-3", 300),
        _res("workspace", "e2e-r1-gw0-c-4", 200),
    ]
    decisions = sweep.decide(
        resources, now=NOW, older_than_minutes=60, run_id=None, max_deletions=2
    )
    deleted = [d.resource.name for d in decisions if d.action == "delete"]
    assert deleted == ["e2e-r1-gw0-b-3", "e2e-r1-gw0-c-4"]
    kept = {d.resource.name: d.reason for d in decisions if d.action == "keep"}
    assert kept["e2e-r1-gw0-tpl-1"].startswith("over the cap")
    assert kept["e2e-r1-gw0-a-2"].startswith("over the cap")


def test_run_filter_and_zero_age_select_one_run_only() -> None:
    got = _decide(
        [_res("workspace", "e2e-r1-gw0-x-1", 0), _res("workspace", "e2e-r2-gw0-x-2", 0)],
        older_than_minutes=0,
        run_id="r1",
    )
    assert got == {"e2e-r1-gw0-x-1": "delete"}


# -- talking to a fake platform (httpx.MockTransport) -----------------------------------------


class FakePlatform:
    """Just enough of DESIGN §3 + GET /workspaces to exercise the sweeper's HTTP side."""

    def __init__(self, *, template_delete: bool) -> None:
        self.template_delete = template_delete
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[str] = []
        self.headers: list[httpx.Headers] = []

    def add_workspace(self, name: str, created: datetime | None, **extra: Any) -> None:
        ws = {"id": f"ws-{len(self.workspaces)}", "name": name, "status": "online", **extra}
        if created is not None:
            ws["created_at"] = created.isoformat().replace("+00:00", "Z")
        self.workspaces[ws["id"]] = ws

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        self.headers.append(request.headers)
        path = request.url.path
        if request.method == "GET" and path == "/workspaces":
            return httpx.Response(200, json=list(self.workspaces.values()))
        if request.method == "GET" and path == "/templates":
            return httpx.Response(200, json=list(self.templates.values()))
        if request.method == "GET" and path.startswith("/events/"):
            return httpx.Response(200, json=self.events.get(path.split("/")[-1], []))
        if request.method == "DELETE" and path.startswith("/workspaces/"):
            assert request.url.params.get("confirm") == "true"
            gone = self.workspaces.pop(path.split("/")[-1], None)
            return httpx.Response(200 if gone else 404, json={"status": "removed"})
        if request.method == "DELETE" and path.startswith("/templates/") and self.template_delete:
            self.templates.pop(path.split("/")[-1], None)
            return httpx.Response(200, json={"status": "deleted"})
        return httpx.Response(404, json={"error": "not found"})


ENV = {
    "E2E_PLATFORM_URL": "http://platform.invalid",
    "E2E_ADMIN_TOKEN": "tok-SWEEPSECRET-123456",
    "E2E_ORG_ID": "org-1",
}


def _run(fake: FakePlatform, *argv: str) -> int:
    def make(url: str, token: str, org: str) -> PlatformClient:
        return PlatformClient(url, token, org, transport=httpx.MockTransport(fake.handler))

    return sweep.main(["--now", NOW.isoformat(), *argv], env=ENV, make_client=make)


def _planted(template_delete: bool) -> FakePlatform:
    fake = FakePlatform(template_delete=template_delete)
    fake.add_workspace("e2e-r1-gw0-gate-1", NOW - timedelta(hours=3))
    fake.add_workspace("e2e-r1-gw1-gate-2", None)  # dated by its first event
    fake.events["ws-1"] = [
        {
            "id": 1,
            "type": "WORKSPACE_PROVISIONING",
            "created_at": (NOW - timedelta(hours=4)).isoformat(),
        }
    ]
    fake.add_workspace("e2e-r2-main-gate-3", NOW - timedelta(minutes=5))  # a live run
    fake.add_workspace("alice-agent", NOW - timedelta(days=30))
    fake.templates["e2e-r1-gw0-seo-agent-4"] = {
        "id": "t1",
        "name": "e2e-r1-gw0-seo-agent-4",
        "source": "imported",
        "created_at": (NOW - timedelta(hours=3)).isoformat(),
    }
    fake.templates["seo-agent"] = {"id": "seo-agent", "name": "seo-agent", "source": "builtin"}
    return fake


def test_dry_run_lists_and_deletes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    fake = _planted(template_delete=True)
    assert _run(fake, "--dry-run", "--older-than-minutes", "120") == 0
    out = capsys.readouterr().out
    assert [c for c in fake.calls if c.startswith("DELETE")] == []
    assert "would delete workspace e2e-r1-gw0-gate-1" in out
    assert "would delete workspace e2e-r1-gw1-gate-2" in out and "first event" in out
    assert "would delete template e2e-r1-gw0-seo-agent-4" in out
    assert "kept workspace e2e-r2-main-gate-3" in out
    assert "alice-agent" not in out and "seo-agent (seo-agent)" not in out
    assert "dry run: would delete 3, kept 1, failed 0" in out
    assert all(h["X-Molecule-Org-Id"] == "org-1" for h in fake.headers)


def test_real_run_deletes_exactly_the_stale_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _planted(template_delete=True)
    summary_path = tmp_path / "summary.json"
    code = _run(fake, "--older-than-minutes", "120", "--summary", str(summary_path))
    assert code == 0, capsys.readouterr()
    assert sorted(ws["name"] for ws in fake.workspaces.values()) == [
        "alice-agent",
        "e2e-r2-main-gate-3",
    ]
    assert list(fake.templates) == ["seo-agent"]
    summary = json.loads(summary_path.read_text())
    assert len(summary["deleted"]) == 3 and summary["failed"] == []
    assert "SWEEPSECRET" not in capsys.readouterr().out + summary_path.read_text()


def test_platform_without_template_delete_keeps_templates_without_failing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = _planted(template_delete=False)
    assert _run(fake, "--older-than-minutes", "120") == 0
    out = capsys.readouterr().out
    assert "e2e-r1-gw0-seo-agent-4" in fake.templates
    assert "the platform has no template delete" in out
    assert "deleted 2, kept 2, failed 0" in out


def test_cap_limits_deletions_per_run(capsys: pytest.CaptureFixture[str]) -> None:
    fake = _planted(template_delete=True)
    assert _run(fake, "--older-than-minutes", "120", "--max-deletions", "1") == 0
    out = capsys.readouterr().out
    assert sum(c.startswith("DELETE") for c in fake.calls) == 1
    assert "e2e-r1-gw1-gate-2" not in {ws["name"] for ws in fake.workspaces.values()}  # oldest
    assert "cap of 1 deletions reached" in out


def test_leak_check_fails_when_the_run_left_something(capsys: pytest.CaptureFixture[str]) -> None:
    fake = _planted(template_delete=True)
    argv = ("--run-id", "r2", "--older-than-minutes", "0", "--fail-on-leftovers")
    assert _run(fake, *argv) == 1
    assert "e2e-r2-main-gate-3" not in {ws["name"] for ws in fake.workspaces.values()}
    assert "leak check failed: 1 resource(s) of r2" in capsys.readouterr().err
    assert _run(fake, *argv) == 0  # nothing left now


def test_failed_deletion_is_reported_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    fake = _planted(template_delete=True)
    inner = fake.handler

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE" and request.url.path == "/workspaces/ws-0":
            return httpx.Response(409, json={"error": "busy; token tok-SWEEPSECRET-123456"})
        return inner(request)

    fake.handler = refuse  # type: ignore[method-assign]
    assert _run(fake, "--older-than-minutes", "120") == 1
    out = capsys.readouterr().out
    assert "FAILED workspace e2e-r1-gw0-gate-1" in out and "409" in out
    assert "SWEEPSECRET" not in out


def test_missing_configuration_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert sweep.main(["--dry-run"], env={}) == 2
    assert "E2E_PLATFORM_URL, E2E_ADMIN_TOKEN, E2E_ORG_ID" in capsys.readouterr().err


# -- on the embedded reference stack ----------------------------------------------------------


def _fixture_files() -> dict[str, str]:
    return {
        str(p.relative_to(TEMPLATE_FIXTURE)): p.read_text()
        for p in sorted(TEMPLATE_FIXTURE.rglob("*"))
        if p.is_file() and (p.name == "config.yaml" or "prompts" in p.parts)
    }


def test_sweeps_planted_stale_workspaces_on_the_embedded_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stale = created before T; the sweep judges ages at T + 30 min with a 30 min threshold,
    so everything planted after T is younger and must stay (no waiting, no clock tricks on the
    stack itself)."""
    stack_env = {"REFERENCE_STATE_DIR": str(tmp_path / "state")}
    with EmbeddedStack(stack_env, log_dir=tmp_path / "stack", label="sweep-stack") as target:
        env = {
            "E2E_PLATFORM_URL": target.platform_url,
            "E2E_ADMIN_TOKEN": target.admin_token,
            "E2E_ORG_ID": target.org_id,
        }
        with PlatformClient(target.platform_url, target.admin_token, target.org_id) as api:
            stale_template = "e2e-0101oldrun-gw0-seo-agent-1"
            api.import_template(stale_template, _fixture_files())
            stale = [
                api.create_workspace("e2e-0101oldrun-gw0-gate-2", stale_template)["id"],
                api.create_workspace("e2e-0101oldrun-gw1-gate-3", "seo-agent")["id"],
            ]
            created = [sweep.parse_time(api.get_workspace(i)["created_at"]) for i in stale]
            t_stale = max(c for c in created if c is not None)
            fresh = [
                api.create_workspace("e2e-1125live-main-gate-4", "seo-agent")["id"],
                api.create_workspace("e2e-demo", "seo-agent")["id"],
                api.create_workspace("alice-agent", "seo-agent")["id"],
            ]
            now = (t_stale + timedelta(minutes=30)).isoformat()
            argv = ["--older-than-minutes", "30", "--now", now]

            assert sweep.main([*argv, "--dry-run"], env=env) == 0
            dry = capsys.readouterr().out
            print(dry)
            assert "would delete workspace e2e-0101oldrun-gw0-gate-2" in dry
            assert "would delete workspace e2e-0101oldrun-gw1-gate-3" in dry
            assert "kept workspace e2e-1125live-main-gate-4" in dry
            assert "e2e-demo" not in dry and "alice-agent" not in dry
            assert {w["id"] for w in api.request("GET", "/workspaces").json()} >= set(stale + fresh)

            summary_path = tmp_path / "summary.json"
            assert sweep.main([*argv, "--summary", str(summary_path)], env=env) == 0
            real = capsys.readouterr().out
            print(real)
            left = {w["id"] for w in api.request("GET", "/workspaces").json()}
            assert left == set(fresh), real
            for ws_id in stale:
                assert api.get_workspace(ws_id)["status"] == "removed"
            summary = json.loads(summary_path.read_text())
            # oldest first: exactly the two stale workspaces, nothing else
            assert [d.split(":")[0] for d in summary["deleted"]] == [
                f"workspace e2e-0101oldrun-gw0-gate-2 ({stale[0]})",
                f"workspace e2e-0101oldrun-gw1-gate-3 ({stale[1]})",
            ]
            assert summary["failed"] == []
            assert target.admin_token not in dry + real + summary_path.read_text()


# -- waiting for other runs (the staging smoke's overlap backstop) ------------------------------


def _live_platform() -> FakePlatform:
    now = datetime.now(UTC)
    fake = FakePlatform(template_delete=True)
    fake.add_workspace("e2e-mine-main-gate-1", now - timedelta(minutes=1))  # this run
    fake.add_workspace("e2e-dead-main-gate-2", now - timedelta(hours=5))  # a leftover
    fake.add_workspace("alice-agent", now)
    return fake


def _wait(fake: FakePlatform, *argv: str) -> int:
    def make(url: str, token: str, org: str) -> PlatformClient:
        return PlatformClient(url, token, org, transport=httpx.MockTransport(fake.handler))

    return sweep.main(
        ["--older-than-minutes", "60", "--run-id", "mine", *argv], env=ENV, make_client=make
    )


def test_wait_idle_passes_when_only_this_run_and_leftovers_exist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = _live_platform()
    assert _wait(fake, "--wait-idle-minutes", "0") == 0
    assert "no other e2e run active" in capsys.readouterr().out
    assert not [c for c in fake.calls if c.startswith("DELETE")]


def test_wait_idle_fails_naming_the_live_run(capsys: pytest.CaptureFixture[str]) -> None:
    fake = _live_platform()
    fake.add_workspace("e2e-other-gw1-gate-9", datetime.now(UTC) - timedelta(minutes=12))
    assert _wait(fake, "--wait-idle-minutes", "0") == 1
    err = capsys.readouterr().err
    assert "another e2e run is still active" in err
    assert "run other (youngest workspace 12.0 min old)" in err
    assert not [c for c in fake.calls if c.startswith("DELETE")]
