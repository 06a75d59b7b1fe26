"""Sweep one tenant's workspaces: list (whole lists only), claim (two keys), date (events),
then delete children first, oldest first, at most `max_deletions` — or, in a dry run, say
what would go. One workspace's error is recorded on it and the sweep goes on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from e2e.harness.names import PREFIX, parse_name
from e2e.harness.platform import HasChildren
from e2e.harness.product import WorkspaceRow
from e2e.sweep.dating import Dates
from e2e.sweep.policy import (
    Case,
    Item,
    cap,
    claim,
    deletion_order,
    judge_age,
    runs_with_templates,
)
from e2e.sweep.summary import Summary
from e2e.sweep.tenant import RESOURCE_ERRORS, Tenant, describe_error


@dataclass(frozen=True)
class Rules:
    now: datetime
    run_id: str | None
    min_age: float
    max_deletions: int
    delete: bool


def in_scope(row: WorkspaceRow, run_id: str | None) -> bool:
    """Worth a line in the summary: an `e2e-` name, of the run asked for (if one was). Other
    names are counted, never listed."""
    if not row.name.startswith(f"{PREFIX}-"):
        return False
    parsed = parse_name(row.name)
    return run_id is None or parsed is None or parsed.run == run_id


def sweep_workspaces(tenant: Tenant, summary: Summary, rules: Rules) -> None:
    template_runs = runs_with_templates(tenant.template_ids())
    summary.templates_of_runs = sorted(template_runs)
    rows = {row.id: row for row in tenant.workspaces()}
    stale: list[Item] = []
    for row in rows.values():
        if not in_scope(row, rules.run_id):
            summary.ignored += 1
            continue
        item = Item("workspace", row.id, row.name, parent_id=row.parent_id)
        summary.items.append(item)
        if claim(item, template_runs) and _old_enough(tenant, row, item, rules):
            stale.append(item)
    for item in cap(deletion_order(stale), rules.max_deletions):
        if not rules.delete:
            item.settle(Case.WOULD_DELETE, item.reason)
            continue
        try:
            removed = tenant.delete(rows[item.id])
        except HasChildren as exc:
            why = "has children this sweep does not delete (it never cascades)"
            item.settle(Case.FAILED, why, describe_error(exc))
        except RESOURCE_ERRORS as exc:
            item.settle(Case.FAILED, f"delete failed ({item.reason})", describe_error(exc))
        else:
            item.settle(Case.ALREADY_GONE if removed is None else Case.DELETED, item.reason)


def _old_enough(tenant: Tenant, row: WorkspaceRow, item: Item, rules: Rules) -> bool:
    if rules.min_age <= 0:  # a run's own teardown: age does not matter
        return judge_age(item, Dates(), rules.now, rules.min_age)
    try:
        dates = tenant.dates(row)
    except RESOURCE_ERRORS as exc:
        item.settle(Case.FAILED, "cannot read its events to date it", describe_error(exc))
        return False
    return judge_age(item, dates, rules.now, rules.min_age)
