"""The command line: `python -m e2e.sweep` (see the package docstring for what it does)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from e2e.harness.names import is_run_id
from e2e.harness.platform import PlatformClient
from e2e.redaction import register_env
from e2e.sweep import dating
from e2e.sweep.config import ConfigError, Endpoint, endpoint
from e2e.sweep.idle import wait_idle
from e2e.sweep.listing import IncompleteListing
from e2e.sweep.orgs import CapExceeded, ControlPlane, OrgRules, sweep_orgs
from e2e.sweep.summary import Summary, write
from e2e.sweep.tenant import DELETE_TIMEOUT_S, READ_TIMEOUT_S, RESOURCE_ERRORS, Tenant
from e2e.sweep.workspaces import Rules, sweep_workspaces

DEFAULT_SUMMARY = Path("reports/sweep.json")
LISTING_ERRORS = (IncompleteListing, *RESOURCE_ERRORS)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m e2e.sweep",
        description="List (default) or delete (--yes) what e2e runs left on the staging tenant.",
    )
    act = p.add_mutually_exclusive_group()
    act.add_argument("--yes", action="store_true", help="delete (default: a dry run)")
    act.add_argument("--dry-run", action="store_true", help="list only (the default)")
    p.add_argument("--run-id", help="only this run (exact; MMDDhhmm+4 hex or stg-MMDDhhmm-N)")
    p.add_argument(
        "--older-than-minutes",
        type=float,
        default=120.0,
        help="minimum age and quiet time (default 120; 0 only with --run-id)",
    )
    p.add_argument(
        "--max-deletions",
        type=int,
        default=25,
        help="workspaces: at most this many per sweep; orgs: more stale than this → none",
    )
    p.add_argument("--orgs", action="store_true", help="sweep the control plane's e2e orgs")
    p.add_argument("--summary", type=Path, default=DEFAULT_SUMMARY, help="JSON summary path")
    p.add_argument(
        "--fail-on-leftovers",
        action="store_true",
        help="exit 1 if anything of the run is left afterwards (teardown + leak check)",
    )
    p.add_argument(
        "--wait-idle-minutes",
        type=float,
        help="delete nothing; wait up to this long until no other run had an event within "
        "--older-than-minutes, else exit 1",
    )
    p.add_argument("--delete-timeout-s", type=float, default=DELETE_TIMEOUT_S, help="per DELETE")
    p.add_argument("--now", help=argparse.SUPPRESS)  # ISO time to judge ages by (tests)
    return p


def check(args: argparse.Namespace) -> None:
    if args.run_id is not None and not is_run_id(args.run_id):
        raise ConfigError(
            f"--run-id {args.run_id!r} is not a run id the harness generates "
            "(MMDDhhmm + 4 hex, or stg-MMDDhhmm-N)"
        )
    if args.older_than_minutes < 0 or args.max_deletions < 0 or args.delete_timeout_s <= 0:
        raise ConfigError("--older-than-minutes, --max-deletions must be >= 0, timeouts > 0")
    if args.older_than_minutes == 0 and args.run_id is None:
        raise ConfigError(
            "--older-than-minutes 0 needs --run-id: without it, a live run's workspaces "
            "would be swept from under it"
        )
    if args.wait_idle_minutes is not None and (args.orgs or args.wait_idle_minutes < 0):
        raise ConfigError("--wait-idle-minutes is for workspaces (not --orgs), and >= 0")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    env = os.environ if env is None else env
    mode = (
        "wait idle" if args.wait_idle_minutes is not None else "delete" if args.yes else "dry run"
    )
    summary = Summary(mode, "orgs" if args.orgs else "workspaces", run_id=args.run_id)
    summary.older_than_minutes, summary.max_deletions = args.older_than_minutes, args.max_deletions
    try:
        code = run(args, env, summary)
    except ConfigError as exc:
        summary.error, code = str(exc), 2
    except KeyboardInterrupt:
        summary.interrupted, code = True, 130
    finally:
        for item in summary.items:
            if item.case is None:
                item.reason = f"not reached ({item.reason})" if item.reason else "not reached"
        try:
            write(summary, args.summary)
        except OSError as exc:
            print(f"sweep: cannot write the summary {args.summary}: {exc}", file=sys.stderr)
            code = code or 1
    for line in summary.lines():
        print(line)
    return code


def run(args: argparse.Namespace, env: Mapping[str, str], summary: Summary) -> int:
    try:
        now = dating.parse_now(args.now)
    except ValueError as exc:
        raise ConfigError(f"--now: {exc}") from None
    summary.now = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    check(args)
    target = endpoint(env, args.orgs)  # exits 2 (ConfigError) before any call
    register_env(env)  # tokens and keys never reach the summary or the output
    summary.host = target.host
    try:
        if args.orgs:
            return sweep_cp(args, target, summary, now)
        return sweep_tenant(args, target, summary, now)
    except LISTING_ERRORS as exc:
        summary.error = f"cannot list: {type(exc).__name__}: {exc}"
        return 1


def sweep_cp(args: argparse.Namespace, target: Endpoint, summary: Summary, now: datetime) -> int:
    cp = ControlPlane(target.url, target.token)
    rules = OrgRules(now, args.run_id, args.older_than_minutes, args.max_deletions, args.yes)
    try:
        sweep_orgs(cp, summary, rules)
    except CapExceeded as exc:
        summary.error = str(exc)
        return 1
    finally:
        cp.close()
    return verdict(args, summary)


def sweep_tenant(
    args: argparse.Namespace, target: Endpoint, summary: Summary, now: datetime
) -> int:
    client = PlatformClient(target.url, target.token, target.org_id, timeout_s=READ_TIMEOUT_S)
    tenant = Tenant(client, args.delete_timeout_s)
    try:
        if args.wait_idle_minutes is not None:
            idle, seen = wait_idle(
                tenant,
                timeout_minutes=args.wait_idle_minutes,
                window_minutes=args.older_than_minutes,
                own_run=args.run_id,
            )
            summary.busy = [] if idle else [seen]
            if not idle:
                summary.error = f"another e2e run is still active: {seen}"
                return 1
            print(f"sweep: no other e2e run active ({seen})")
            return 0
        rules = Rules(now, args.run_id, args.older_than_minutes, args.max_deletions, args.yes)
        sweep_workspaces(tenant, summary, rules)
    finally:
        tenant.close()
    return verdict(args, summary)


def verdict(args: argparse.Namespace, summary: Summary) -> int:
    if summary.failed():
        return 1
    left = summary.leftovers(args.run_id) if args.fail_on_leftovers else []
    if left:
        summary.error = (
            f"leak check failed: {len(left)} resource(s) of "
            f"{args.run_id or 'e2e runs'} left: {', '.join(i.name for i in left)}"
        )
        return 1
    return 0
