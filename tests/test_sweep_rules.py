"""The sweeper's pure parts: the name grammar (one place, shared with the harness), dating
(zoneless is unknown), ownership, order and cap, whole listings, the longer DELETE timeout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from e2e import allure_env
from e2e.harness import names, settings
from e2e.harness.platform import PlatformClient
from e2e.harness.product import WorkspaceRow
from e2e.sweep import dating, policy
from e2e.sweep.listing import IncompleteListing, whole_list
from e2e.sweep.tenant import READ_TIMEOUT_S, Tenant

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "run"),
    [
        ("e2e-11251136ab12-gw0-gate-seo-agent-3", "11251136ab12"),
        ("e2e-stg-11251136-42-main-tpl-1", "stg-11251136-42"),
        ("e2e-11251136ab12-gw12-x-1-10", "11251136ab12"),
        ("e2e-checkout-main-flow-1", None),  # another team's: no run id of ours
        ("e2e-11251136ab12-gw0-x", None),  # no counter
        ("e2e-11251136AB12-gw0-x-1", None),  # the harness lowercases
        ("e2e-13991136ab12-main-x-1", None),  # month 13 is no stamp the harness makes
        ("e2e-11251136ab12-worker-x-1", None),
        ("prod-e2e-11251136ab12-gw0-x-1", None),
        ("e2e-1125113ab12-gw0-x-1", None),  # one digit short
    ],
)
def test_names_parse_only_in_the_harness_grammar(name: str, run: str | None) -> None:
    parsed = names.parse_name(name)
    assert (parsed.run if parsed else None) == run


def test_every_run_id_the_harness_makes_parses_back() -> None:
    for run_id in (settings.new_run_id(), allure_env.new_run_id()):
        assert names.is_run_id(run_id), run_id
        parsed = names.parse_name(names.unique_name(run_id, "gw3", "Gate / SEO agent"))
        assert parsed and (parsed.run, parsed.worker, parsed.purpose) == (
            run_id,
            "gw3",
            "gate-seo-agent",
        )


def test_the_staging_smokes_run_id_parses() -> None:
    wf = yaml.safe_load((REPO / ".gitea/workflows/staging-smoke.yml").read_text())
    runs = [s["run"] for s in wf["jobs"]["smoke"]["steps"] if "E2E_RUN_ID=" in str(s.get("run"))]
    (line,) = runs
    template = re.search(r'E2E_RUN_ID=(.+?)" >>', line)
    assert template, line
    shaped = template.group(1).replace("$(date -u +%m%d%H%M)", "11251136")
    shaped = shaped.replace("${GITHUB_RUN_NUMBER:-0}", "4711")
    assert names.is_run_id(shaped), shaped
    assert names.parse_name(names.unique_name(shaped, "main", "gate")) is not None


def test_org_slugs_pair_the_day_with_the_run() -> None:
    slug = names.org_slug("11251136ab12", "20261125")
    assert slug == "e2e-20261125-11251136ab12"
    assert names.parse_org_slug(slug) == "11251136ab12"
    assert names.parse_org_slug("e2e-20261126-11251136ab12") == "11251136ab12"  # past midnight
    assert names.parse_org_slug("e2e-20261128-11251136ab12") is None
    assert names.parse_org_slug("e2e-tmpl-1a2b3c4d") is None
    assert len(names.org_slug("stg-11251136-123456", "20261125")) == 32
    with pytest.raises(ValueError, match="is not"):
        names.org_slug("stg-11251136-1234567", "20261125")  # 33 characters


def test_zoneless_times_are_unknown_never_utc() -> None:
    assert dating.utc("2026-11-25T11:00:00Z") == datetime(2026, 11, 25, 11, tzinfo=UTC)
    assert dating.utc("2026-11-25T12:00:00+01:00") == datetime(2026, 11, 25, 11, tzinfo=UTC)
    for bad in ("2026-11-25T11:00:00", datetime(2026, 11, 25, 11), "yesterday", None, 1.5e9):
        with pytest.raises(dating.UnknownTime):
            dating.utc(bad)
    mixed = dating.from_times(["2026-11-25T11:00:00Z", "2026-11-25T10:00:00"], "events")
    assert mixed.unknown and "without a zone" in mixed.unknown


def item(name: str, ident: str = "", parent: str | None = None, age: float = 0) -> policy.Item:
    made = policy.Item("workspace", ident or name, name, parent_id=parent)
    made.age_minutes = age
    return made


def test_ownership_needs_the_name_and_a_template_of_the_same_run() -> None:
    runs = policy.runs_with_templates(["e2e-11251136ab12-gw0-tpl-1", "seo-agent", "e2e-x-1"])
    assert runs == {"11251136ab12"}
    assert policy.claim(item("e2e-11251136ab12-gw1-gate-2"), runs)
    other = item("e2e-11251137ab12-gw1-gate-2")
    assert not policy.claim(other, runs) and other.case is policy.Case.KEPT_FOREIGN


def test_age_needs_both_old_and_quiet() -> None:
    def judged(first: float, last: float) -> policy.Item:
        it = item("e2e-11251136ab12-gw1-gate-2")
        dates = dating.Dates(NOW - timedelta(minutes=first), NOW - timedelta(minutes=last), "ev")
        policy.judge_age(it, dates, NOW, 120)
        return it

    assert judged(121, 120).case is None  # stale: left for deletion
    assert judged(119, 119).case is policy.Case.KEPT_YOUNG
    assert judged(500, 5).case is policy.Case.KEPT_YOUNG  # old but active
    unknown = item("x")
    assert not policy.judge_age(unknown, dating.Dates(source="events"), NOW, 120)
    assert unknown.case is policy.Case.KEPT_UNKNOWN_AGE


def test_children_go_before_parents_then_oldest_first_and_the_cap_keeps_the_rest() -> None:
    items = [
        item("root", age=10),
        item("child", parent="root", age=5),
        item("grandchild", parent="child", age=1),
        item("old", age=99),
        item("loop-a", parent="loop-b", age=3),
        item("loop-b", parent="loop-a", age=3),
    ]
    order = [i.name for i in policy.deletion_order(items)]
    assert order.index("grandchild") < order.index("child") < order.index("root")
    assert order.index("old") < order.index("root")
    kept = policy.cap(policy.deletion_order(items), 2)
    assert len(kept) == 2
    assert sum(i.case is policy.Case.KEPT_OVER_CAP for i in items) == 4


@pytest.mark.parametrize(
    ("body", "headers", "said"),
    [
        ({"items": [], "next": "/workspaces?page=2"}, {}, "paginated listing (next)"),
        ({"workspaces": [], "links": {"next": "x"}}, {}, "paginated listing (links)"),
        ([], {"Link": '</workspaces?page=2>; rel="next"'}, "next page"),
        ({"workspaces": [], "has_more": False}, {}, "answered an object"),
        ("text", {}, "answered str"),
    ],
)
def test_listings_that_may_be_partial_are_refused(
    body: Any, headers: dict[str, str], said: str
) -> None:
    response = httpx.Response(200, json=body, headers=headers)
    with pytest.raises(IncompleteListing, match=re.escape(said)):
        whole_list(response, "GET /workspaces")
    assert whole_list(httpx.Response(200, json={"orgs": [1]}), "GET /orgs", "orgs") == [1]


def test_the_delete_waits_longer_than_a_read() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "removed", "cascade_deleted": 0})

    client = PlatformClient("http://t", "tok", "org", transport=httpx.MockTransport(answer))
    tenant = Tenant(client, delete_timeout_s=180)
    tenant.delete(WorkspaceRow(id="w1", name="e2e-11251136ab12-gw0-x-1", status="online"))
    (request,) = seen
    assert request.headers["X-Confirm-Name"] == "e2e-11251136ab12-gw0-x-1"
    assert "confirm" not in request.url.params  # never a cascade
    timeout = request.extensions["timeout"]
    assert timeout["read"] == 180 > READ_TIMEOUT_S
