"""Delete e2e workspaces and imported e2e templates that runs left behind (`python -m e2e.sweep`).

A run names everything `e2e-<run id>-<worker>-<purpose>-<n>` (e2e/harness/names.py); only names of
exactly that shape are ever touched, so a person's `e2e-demo` workspace is safe. A resource is
stale when it is older than `--older-than-minutes`: its age comes from the platform's
`created_at`, else from the workspace's first event, else from the `MMDDHHMM` stamp in its run
id; when no age can be found it is kept and reported. Oldest first, at most `--max-deletions` per
run (a bug here cannot wipe a tenant in one go), workspaces before templates (a template may not
go while a workspace uses it).

`--run-id X --older-than-minutes 0 --fail-on-leftovers` is the staging smoke's teardown and leak
check: delete whatever run X left, and fail if there was anything.

`--wait-idle-minutes N --run-id X` deletes nothing: it waits (at most N minutes) until no other
run has e2e workspaces younger than `--older-than-minutes` — those belong to a live run — and
fails naming the busy runs. The staging smoke calls it first, a backstop for Gitea < 1.26, which
ignores `concurrency` (two runs starting in the same instant can still both see "idle").

Configuration comes from env like the suite's: E2E_PLATFORM_URL, E2E_ADMIN_TOKEN, E2E_ORG_ID.
The token is never printed. Exit codes: 0 done; 1 a deletion failed, or leftovers were found with
`--fail-on-leftovers`; 2 bad configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from e2e.harness.names import PREFIX
from e2e.harness.platform import PlatformClient, PlatformError
from e2e.harness.report import redact, register_secret
from e2e.harness.waits import WaitTimeout, wait_for

log = logging.getLogger("e2e.sweep")

# e2e-<run id>-<worker: gw<n> | main>-<purpose>-<n>
E2E_NAME = re.compile(rf"{PREFIX}-(?P<run>[a-z0-9][a-z0-9-]*?)-(?:gw\d+|main)-[a-z0-9-]+-\d+")
# the UTC minute stamp the harness puts in generated run ids (and staging's stg-MMDDHHMM-N)
RUN_STAMP = re.compile(r"(?:^|-)(?P<stamp>\d{8})(?=[0-9a-f]{0,8}(?:-|$))")


class TemplateDeleteUnsupported(PlatformError):
    """The platform cannot delete templates (DESIGN §3 has no such call): kept, not a failure."""


@dataclass(frozen=True)
class Resource:
    kind: str  # "workspace" | "template"
    id: str
    name: str
    created_at: datetime | None
    age_source: str  # created_at | first event | run id | unknown

    def label(self) -> str:
        return f"{self.kind} {self.name} ({self.id})"


@dataclass
class Decision:
    resource: Resource
    action: str  # delete | keep
    reason: str
    age_minutes: float | None


@dataclass
class Summary:
    dry_run: bool
    older_than_minutes: float
    run_id: str | None
    max_deletions: int
    now: str
    matched: int = 0
    deleted: list[str] = field(default_factory=list)
    would_delete: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    undeletable: int = 0  # templates the platform cannot delete
    cap_reached: bool = False

    @property
    def leftovers(self) -> int:
        """What a finished run should not have left: everything matched it could delete."""
        return self.matched - self.undeletable

    def lines(self) -> list[str]:
        mode = "dry run" if self.dry_run else "sweep"
        scope = f"run {self.run_id}" if self.run_id else "all e2e runs"
        out = [
            f"{mode}: {scope}, older than {self.older_than_minutes:g} min, "
            f"cap {self.max_deletions}, now {self.now}: {self.matched} e2e resource(s) found"
        ]
        out += [f"  would delete {item}" for item in self.would_delete]
        out += [f"  deleted {item}" for item in self.deleted]
        out += [f"  kept {item}" for item in self.kept]
        out += [f"  FAILED {item}" for item in self.failed]
        if self.cap_reached:
            out.append(f"  cap of {self.max_deletions} deletions reached; the next run continues")
        verb = "would delete" if self.dry_run else "deleted"
        count = len(self.would_delete if self.dry_run else self.deleted)
        out.append(f"{mode}: {verb} {count}, kept {len(self.kept)}, failed {len(self.failed)}")
        return out


# -- recognising and dating ---------------------------------------------------------------------


def e2e_run_of(name: str) -> str | None:
    """The run id of an e2e resource name, or None if the name is not one of ours."""
    match = E2E_NAME.fullmatch(name)
    return match.group("run") if match else None


def belongs(name: str, run_id: str | None) -> bool:
    """An e2e name, and (when given) of that run. Matched by prefix, since run ids contain '-'."""
    if e2e_run_of(name) is None:
        return False
    return run_id is None or name.startswith(f"{PREFIX}-{run_id.lower()}-")


def parse_time(value: object) -> datetime | None:
    """ISO 8601 (with Z or offset; naive counts as UTC) or epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_id_time(name: str, now: datetime) -> datetime | None:
    """The `MMDDHHMM` UTC stamp of a generated run id; the year is the latest not in the future."""
    run = e2e_run_of(name)
    match = RUN_STAMP.search(run) if run else None
    if not match:
        return None
    stamp = match.group("stamp")
    for year in (now.year, now.year - 1):
        try:
            when = datetime.strptime(f"{year}{stamp}", "%Y%m%d%H%M").replace(tzinfo=UTC)
        except ValueError:
            continue
        if when <= now + timedelta(minutes=5):
            return when
    return None


# -- deciding (pure) -------------------------------------------------------------------------


def decide(
    resources: Iterable[Resource],
    *,
    now: datetime,
    older_than_minutes: float,
    run_id: str | None,
    max_deletions: int,
) -> list[Decision]:
    """Which resources to delete: ours, old enough, oldest first, workspaces first, capped."""
    decisions: list[Decision] = []
    candidates: list[Decision] = []
    for res in resources:
        if not belongs(res.name, run_id):
            continue
        if res.created_at is None:
            decisions.append(
                Decision(res, "keep", "age unknown (no created_at, event or stamp)", None)
            )
            continue
        age = (now - res.created_at).total_seconds() / 60
        if age < older_than_minutes:
            decisions.append(
                Decision(res, "keep", f"{age:.2f} min old (< {older_than_minutes:g})", age)
            )
            continue
        candidates.append(Decision(res, "delete", f"{age:.2f} min old ({res.age_source})", age))
    candidates.sort(key=lambda d: (d.resource.kind != "workspace", -(d.age_minutes or 0)))
    for index, decision in enumerate(candidates):
        if index >= max_deletions:
            decision.action, decision.reason = "keep", f"over the cap ({decision.reason})"
        decisions.append(decision)
    return decisions


# -- talking to the platform -------------------------------------------------------------------


class Sweeper:
    """Lists and deletes through the platform API (DESIGN §3 plus `GET /workspaces`)."""

    def __init__(self, client: PlatformClient) -> None:
        self.client = client
        self.template_delete_supported: bool | None = None

    def _list(self, path: str) -> list[dict[str, Any]]:
        response = self.client.request("GET", path)
        if response.status_code != 200:
            raise PlatformError("GET", path, response.status_code, response.text)
        data = response.json()
        if isinstance(data, dict):  # tolerate {"workspaces": [...]} style answers
            data = next((v for v in data.values() if isinstance(v, list)), [])
        return [item for item in data if isinstance(item, dict)]

    def _first_event_time(self, workspace_id: str) -> datetime | None:
        try:
            events = self.client.events(workspace_id)
        except PlatformError:
            return None
        # newest first, at most 100: the oldest of the window is the best known first event
        return min(e.created_at for e in events) if events else None

    def resources(self, run_id: str | None, now: datetime) -> list[Resource]:
        found: list[Resource] = []
        for ws in self._list("/workspaces"):
            name = str(ws.get("name", ""))
            if not belongs(name, run_id) or ws.get("status") == "removed":
                continue
            found.append(self._dated("workspace", str(ws.get("id")), name, ws, now))
        for tpl in self._list("/templates"):
            name = str(tpl.get("name", ""))
            if not belongs(name, run_id) or tpl.get("source") == "builtin":
                continue
            found.append(self._dated("template", str(tpl.get("id") or name), name, tpl, now))
        return found

    def _dated(
        self, kind: str, ident: str, name: str, item: Mapping[str, Any], now: datetime
    ) -> Resource:
        created = parse_time(item.get("created_at"))
        if created is not None:
            return Resource(kind, ident, name, created, "created_at")
        if kind == "workspace":
            created = self._first_event_time(ident)
            if created is not None:
                return Resource(kind, ident, name, created, "first event")
        created = run_id_time(name, now)
        if created is not None:
            return Resource(kind, ident, name, created, "run id")
        return Resource(kind, ident, name, None, "unknown")

    def delete(self, res: Resource) -> str:
        """Delete one resource; returns what happened ('deleted', 'already gone', ...)."""
        if res.kind == "workspace":
            return "deleted" if self.client.delete_workspace(res.id, res.name) else "already gone"
        path = f"/templates/{res.name}"
        if self.template_delete_supported is False:
            raise TemplateDeleteUnsupported("DELETE", path, 405, "no template delete")
        response = self.client.request("DELETE", path)
        if response.status_code < 300:
            self.template_delete_supported = True
            return "deleted"
        if response.status_code in (404, 405):
            still_listed = any(t.get("name") == res.name for t in self._list("/templates"))
            if not still_listed:
                return "already gone"
            self.template_delete_supported = False
            raise TemplateDeleteUnsupported(
                "DELETE", path, response.status_code, "the platform has no template delete"
            )
        raise PlatformError("DELETE", path, response.status_code, response.text)


def sweep(
    sweeper: Sweeper,
    *,
    now: datetime,
    older_than_minutes: float,
    run_id: str | None,
    max_deletions: int,
    dry_run: bool,
) -> Summary:
    summary = Summary(
        dry_run=dry_run,
        older_than_minutes=older_than_minutes,
        run_id=run_id,
        max_deletions=max_deletions,
        now=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    resources = sweeper.resources(run_id, now)
    summary.matched = len(resources)
    for decision in decide(
        resources,
        now=now,
        older_than_minutes=older_than_minutes,
        run_id=run_id,
        max_deletions=max_deletions,
    ):
        item = f"{decision.resource.label()}: {decision.reason}"
        if decision.action == "keep":
            summary.kept.append(item)
            summary.cap_reached |= decision.reason.startswith("over the cap")
        elif dry_run:
            summary.would_delete.append(item)
        else:
            try:
                outcome = sweeper.delete(decision.resource)
            except TemplateDeleteUnsupported:
                summary.undeletable += 1
                summary.kept.append(f"{item}: the platform has no template delete")
            except (PlatformError, OSError) as exc:
                summary.failed.append(f"{item}: {redact(str(exc))}")
            else:
                summary.deleted.append(f"{item}: {outcome}")
    return summary


def active_runs(
    sweeper: Sweeper, now: datetime, younger_than_minutes: float, own_run: str | None
) -> dict[str, float]:
    """Other runs that look alive: run id → age in minutes of its youngest workspace."""
    runs: dict[str, float] = {}
    for res in sweeper.resources(None, now):
        run = e2e_run_of(res.name)
        if res.kind != "workspace" or res.created_at is None or run is None:
            continue
        if own_run and res.name.startswith(f"{PREFIX}-{own_run.lower()}-"):
            continue
        age = (now - res.created_at).total_seconds() / 60
        if age < younger_than_minutes:
            runs[run] = min(age, runs.get(run, age))
    return runs


def wait_idle(
    sweeper: Sweeper,
    *,
    timeout_minutes: float,
    younger_than_minutes: float,
    own_run: str | None,
    poll_s: float = 30.0,
) -> str | None:
    """None once no other run is active; else why we gave up (what was last seen)."""

    def describe(runs: dict[str, float]) -> str:
        busy = ", ".join(f"run {r} (youngest workspace {a:.1f} min old)" for r, a in runs.items())
        return busy or "idle"

    try:
        wait_for(
            "no other e2e run active",
            lambda: active_runs(sweeper, datetime.now(UTC), younger_than_minutes, own_run),
            lambda runs: not runs,
            timeout_s=timeout_minutes * 60,
            poll_s=poll_s,
            describe=describe,
            log_every_s=60,
        )
    except WaitTimeout as exc:
        return str(exc)
    return None


# -- command line --------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m e2e.sweep",
        description="Delete stale e2e workspaces and imported e2e templates (names e2e-<run>-...).",
    )
    p.add_argument(
        "--older-than-minutes",
        type=float,
        default=120.0,
        help="only resources at least this old (default 120; 0: any age)",
    )
    p.add_argument("--run-id", help="only this run's resources (default: every e2e run)")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    p.add_argument(
        "--max-deletions",
        type=int,
        default=25,
        help="at most this many deletions per run (default 25)",
    )
    p.add_argument("--summary", type=Path, help="also write the summary as JSON here")
    p.add_argument(
        "--fail-on-leftovers",
        action="store_true",
        help="exit 1 if any resource matched (teardown + leak check of one run)",
    )
    p.add_argument(
        "--wait-idle-minutes",
        type=float,
        help="delete nothing; wait up to this long until no other run (not --run-id) has "
        "workspaces younger than --older-than-minutes, else exit 1",
    )
    p.add_argument("--now", help=argparse.SUPPRESS)  # ISO time to judge ages by (tests)
    return p


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    make_client: Callable[[str, str, str], PlatformClient] | None = None,
) -> int:
    args = _parser().parse_args(argv)
    env = os.environ if env is None else env
    missing = [v for v in ("E2E_PLATFORM_URL", "E2E_ADMIN_TOKEN", "E2E_ORG_ID") if not env.get(v)]
    if missing:
        print(f"sweep: set {', '.join(missing)} (the platform to sweep)", file=sys.stderr)
        return 2
    if args.max_deletions < 0 or args.older_than_minutes < 0:
        print("sweep: --max-deletions and --older-than-minutes must be >= 0", file=sys.stderr)
        return 2
    now = parse_time(args.now) if args.now else datetime.now(UTC)
    if now is None:
        print(f"sweep: --now {args.now!r} is not an ISO time", file=sys.stderr)
        return 2
    register_secret(env["E2E_ADMIN_TOKEN"])
    factory = make_client or (lambda url, token, org: PlatformClient(url, token, org))
    client = factory(env["E2E_PLATFORM_URL"].rstrip("/"), env["E2E_ADMIN_TOKEN"], env["E2E_ORG_ID"])
    if args.wait_idle_minutes is not None:
        try:
            busy = wait_idle(
                Sweeper(client),
                timeout_minutes=args.wait_idle_minutes,
                younger_than_minutes=args.older_than_minutes,
                own_run=args.run_id,
            )
        except (PlatformError, OSError) as exc:
            print(f"sweep: cannot list resources: {redact(str(exc))}", file=sys.stderr)
            return 1
        finally:
            client.close()
        if busy:
            print(f"sweep: another e2e run is still active: {busy}", file=sys.stderr)
            return 1
        print("sweep: no other e2e run active")
        return 0
    try:
        summary = sweep(
            Sweeper(client),
            now=now,
            older_than_minutes=args.older_than_minutes,
            run_id=args.run_id,
            max_deletions=args.max_deletions,
            dry_run=args.dry_run,
        )
    except (PlatformError, OSError) as exc:
        print(f"sweep: cannot list resources: {redact(str(exc))}", file=sys.stderr)
        return 1
    finally:
        client.close()
    for line in summary.lines():
        print(line)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(asdict(summary), indent=2) + "\n")
    if summary.failed:
        return 1
    if args.fail_on_leftovers and summary.leftovers:
        print(
            f"sweep: leak check failed: {summary.leftovers} resource(s) of "
            f"{args.run_id or 'e2e runs'} were left behind",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
