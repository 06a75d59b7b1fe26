"""Which workspaces may go: pure decisions, no I/O.

Ownership takes two keys, because a name alone is a weak claim on a shared tenant:

1. the name parses under the harness's grammar (`e2e.harness.names`): `e2e-<run>-<worker>-
   <purpose>-<n>`, the run id in one of the two formats the harness generates, compared
   exactly — so another team's `e2e-checkout-main-flow-1` never qualifies;
2. the tenant holds a template imported by the same run (`e2e-<run>-<worker>-<purpose>-<n>`
   as its id or name). Every harness run imports its template before it creates a workspace.
   The product stores a workspace's template but never returns it (not in rows, not in
   events), so this is the only trace of the harness the tenant keeps; a workspace whose run
   left none is kept and reported, never guessed at.

Then age: old enough (first event at least `--older-than-minutes` ago) and quiet (no event in
that time either). Unknown age is kept. `--older-than-minutes 0` (only with `--run-id`)
deletes a run's workspaces whatever their age: the run's own teardown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from e2e.harness.names import parse_name
from e2e.sweep.dating import Dates


class Case(StrEnum):
    KEPT_FOREIGN = "kept foreign"
    KEPT_YOUNG = "kept young"
    KEPT_UNKNOWN_AGE = "kept unknown age"
    KEPT_OVER_CAP = "kept over cap"
    WOULD_DELETE = "would delete"
    DELETED = "deleted"
    ALREADY_GONE = "already gone"
    FAILED = "failed"


KEPT = (Case.KEPT_FOREIGN, Case.KEPT_YOUNG, Case.KEPT_UNKNOWN_AGE, Case.KEPT_OVER_CAP)


@dataclass
class Item:
    """One resource the sweep looked at, and what became of it."""

    kind: str  # workspace | org
    id: str
    name: str
    run: str | None = None
    case: Case | None = None
    reason: str = ""
    age_minutes: float | None = None
    idle_minutes: float | None = None
    parent_id: str | None = None
    error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def settle(self, case: Case, reason: str, error: str | None = None) -> None:
        self.case, self.reason, self.error = case, reason, error

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "run": self.run,
            "case": str(self.case) if self.case else None,
            "reason": self.reason,
        }
        for key in ("age_minutes", "idle_minutes"):
            value = getattr(self, key)
            out[key] = None if value is None else round(value, 2)
        if self.error:
            out["error"] = self.error
        return out


def runs_with_templates(template_ids: Iterable[str]) -> set[str]:
    """Run ids that imported a template on this tenant (the second ownership key)."""
    runs = set()
    for ident in template_ids:
        parsed = parse_name(ident)
        if parsed:
            runs.add(parsed.run)
    return runs


def claim(item: Item, template_runs: set[str]) -> bool:
    """Both keys; settles the item as foreign (saying which key failed) when they miss."""
    parsed = parse_name(item.name)
    if parsed is None:
        item.settle(Case.KEPT_FOREIGN, "name is not one this harness generates")
        return False
    item.run = parsed.run
    if parsed.run not in template_runs:
        item.settle(
            Case.KEPT_FOREIGN,
            f"no template of run {parsed.run} on this tenant (every harness run imports one)",
        )
        return False
    return True


def judge_age(item: Item, dates: Dates, now: datetime, min_age: float) -> bool:
    """Old enough and quiet enough; settles the item as kept otherwise."""
    if min_age <= 0:
        item.reason = "this run's teardown (any age)"
        return True
    if dates.unknown or dates.first is None or dates.last is None:
        item.settle(Case.KEPT_UNKNOWN_AGE, dates.unknown or f"no timestamp in {dates.source}")
        return False
    item.age_minutes, item.idle_minutes = dates.age_minutes(now), dates.idle_minutes(now)
    age, idle = item.age_minutes or 0.0, item.idle_minutes or 0.0
    if age < min_age:
        item.settle(Case.KEPT_YOUNG, f"{age:.1f} min old (< {min_age:g}, from {dates.source})")
        return False
    if idle < min_age:
        item.settle(Case.KEPT_YOUNG, f"last event {idle:.1f} min ago (< {min_age:g}): active")
        return False
    item.reason = f"{age:.1f} min old, quiet for {idle:.1f} min ({dates.source})"
    return True


def deletion_order(items: list[Item]) -> list[Item]:
    """Children before their parents (the product refuses a parent with children, and the
    sweeper never cascades), then oldest first."""
    by_id: Mapping[str, Item] = {i.id: i for i in items}

    def depth(item: Item) -> int:
        seen, node, n = {item.id}, item, 0
        while node.parent_id and node.parent_id in by_id and node.parent_id not in seen:
            node = by_id[node.parent_id]
            seen.add(node.id)
            n += 1
        return n

    return sorted(items, key=lambda i: (-depth(i), -(i.age_minutes or 0.0), i.name))


def cap(items: list[Item], max_deletions: int) -> list[Item]:
    """The first `max_deletions` go; the rest are kept and said to be (the next run goes on)."""
    for item in items[max_deletions:]:
        item.settle(Case.KEPT_OVER_CAP, f"over the cap of {max_deletions} ({item.reason})")
    return items[:max_deletions]
