"""Find — and with `--yes` delete — what e2e runs left on the staging tenant (`python -m
e2e.sweep`). It fails safe: a dry run unless told `--yes`; only hosts named in
`E2E_SWEEP_ALLOWED_HOSTS`; only workspaces proven to be this harness's (`policy.py`: the name
grammar of `e2e.harness.names` and a template of the same run on the tenant); only when old
and quiet enough (`dating.py`: events, never a zoneless time), or any age for `--run-id`'s own
teardown; whole listings only (`listing.py`); children before parents and never a cascade;
at most `--max-deletions`; each workspace's error recorded while the sweep goes on; and the
JSON summary (`--summary`, default reports/sweep.json) written whatever happens, naming each
case: kept foreign, kept young, kept unknown age, kept over cap, would delete, deleted,
already gone, failed (with its error).

`--run-id X --older-than-minutes 0 --yes --fail-on-leftovers` is the staging smoke's teardown
and leak check; `--wait-idle-minutes N --run-id X` its guard against overlapping runs
(`idle.py`); `--orgs` sweeps the control plane's e2e orgs of this harness (`orgs.py`).

Exit codes: 0 done; 1 a resource failed, a listing was refused, leftovers with
`--fail-on-leftovers`, another run active, or more stale orgs than the cap; 2 bad
configuration (nothing was called); 130 interrupted (the summary says how far it got).
"""

from e2e.sweep.cli import main

__all__ = ["main"]
