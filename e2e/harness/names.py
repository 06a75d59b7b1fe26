"""Resource names that carry the run id and the xdist worker, so runs never collide, and the
one grammar of those names (and of run ids and org slugs) that the sweeper parses."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_counter = itertools.count(1)
PREFIX = "e2e"


def unique_name(run_id: str, worker_id: str, purpose: str) -> str:
    """`e2e-<run>-<worker>-<purpose>-<n>`: lowercase, [a-z0-9-], ≤ 63 chars."""
    purpose = re.sub(r"[^a-z0-9]+", "-", purpose.lower()).strip("-") or "x"
    head, tail = f"{PREFIX}-{run_id}-{worker_id}-", f"-{next(_counter)}"
    room = max(1, 63 - len(head) - len(tail))
    return head + (purpose[:room].rstrip("-") or "x") + tail


def sweep_prefix(run_id: str) -> str:
    """Everything a run created starts with this."""
    return f"{PREFIX}-{run_id}-"


# -- the grammar of what a run names (one place: the harness generates, the sweeper parses) -----

# run ids the harness generates (settings.new_run_id: UTC MMDDhhmm + 4 hex) and the staging
# smoke sets (staging-smoke.yml: stg-MMDDhhmm-<run number>); any other E2E_RUN_ID is never swept
GENERATED_RUN_ID = r"(?P<stamp>\d{8})[0-9a-f]{4}"
STAGING_RUN_ID = r"stg-(?P<stg_stamp>\d{8})-\d{1,9}"
RUN_ID = re.compile(rf"{GENERATED_RUN_ID}|{STAGING_RUN_ID}")
WORKER_ID = r"gw\d+|main"
# e2e-<run>-<worker>-<purpose>-<n>, exactly as unique_name builds it
NAME = re.compile(
    rf"{PREFIX}-(?P<run>{GENERATED_RUN_ID}|{STAGING_RUN_ID})-(?P<worker>{WORKER_ID})"
    r"-(?P<purpose>[a-z0-9]+(?:-[a-z0-9]+)*?)-(?P<n>\d+)"
)
# a CP org of one run: e2e-<yyyymmdd>-<run>, the CP's slug rule ^[a-z][a-z0-9-]{2,31}$
ORG_SLUG = re.compile(rf"{PREFIX}-(?P<day>\d{{8}})-(?P<run>{GENERATED_RUN_ID}|{STAGING_RUN_ID})")
ORG_SLUG_RULE = re.compile(r"[a-z][a-z0-9-]{2,31}")


@dataclass(frozen=True)
class RunName:
    """A parsed `e2e-<run>-<worker>-<purpose>-<n>`."""

    run: str
    worker: str
    purpose: str
    n: int


def run_stamp(run_id: str) -> str | None:
    """The `MMDDhhmm` UTC stamp of a generated or staging run id; None for any other id (or a
    stamp that is no date: the harness never generates one)."""
    match = RUN_ID.fullmatch(run_id)
    stamp = match and (match.group("stamp") or match.group("stg_stamp"))
    if not stamp:
        return None
    try:  # a leap year, so 0229 is a date
        datetime.strptime(f"2000{stamp}", "%Y%m%d%H%M")
    except ValueError:
        return None
    return stamp


def is_run_id(run_id: str) -> bool:
    """One of the two run-id formats the harness and the staging smoke generate."""
    return run_stamp(run_id) is not None


def parse_name(name: str) -> RunName | None:
    """The parts of a name this harness generated, or None (another team's `e2e-…` too)."""
    match = NAME.fullmatch(name)
    if not match or not is_run_id(match.group("run")):
        return None
    return RunName(match["run"], match["worker"], match["purpose"], int(match["n"]))


def org_slug(run_id: str, day: str) -> str:
    """`e2e-<yyyymmdd>-<run>`: the CP org a run creates (the CP's slug rule: ≤ 32 characters).
    Only a run id in a generated format makes a slug the sweeper will recognise."""
    slug = f"{PREFIX}-{day}-{run_id}".lower()
    if not ORG_SLUG_RULE.fullmatch(slug):
        raise ValueError(f"org slug {slug!r} for run {run_id!r} is not {ORG_SLUG_RULE.pattern}")
    return slug


def parse_org_slug(slug: str) -> str | None:
    """The run id of an org this harness names, or None. The day must be a date whose MMDD is
    the run's stamp day or the next (a run started before midnight creates its org after)."""
    match = ORG_SLUG.fullmatch(slug)
    if not match or not ORG_SLUG_RULE.fullmatch(slug):
        return None
    run, stamp = match["run"], run_stamp(match["run"])
    try:
        day = datetime.strptime(match["day"], "%Y%m%d")
    except ValueError:
        return None
    if stamp is None:
        return None
    started = {day.strftime("%m%d"), (day - timedelta(days=1)).strftime("%m%d")}
    return run if stamp[:4] in started else None
