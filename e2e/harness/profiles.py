"""Deadlines and poll intervals, by target kind: `fast` fits the embedded stack (boxes boot in
half a second), `staging` real EC2 boots of many minutes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Deadlines and poll intervals. `fast` fits the embedded stack, `staging` real EC2 boots."""

    name: str
    poll_s: float  # platform/EC2 state polls
    ssm_poll_s: float  # get_command_invocation polls
    online_s: float  # provisioning → online (first boot)
    restart_s: float  # trigger → fresh box online
    offline_s: float  # crash → platform notices
    ssm_online_s: float  # instance running → SSM PingStatus Online
    command_s: float  # one SSM command, send → terminal status
    delete_s: float  # delete → instance gone
    reconcile_s: float  # first online → the reconcile's restart (if one comes)
    # a trigger whose automatic restart may be dropped (inside the product's window): how long
    # to wait for a sign of it (WORKSPACE_PROVISIONING, status, box going) before calling it so
    auto_restart_grace_s: float
    stack_start_s: float  # embedded stack subprocess → first JSON line
    http_timeout_s: float
    log_every_s: float  # waits log at least this often (and on every change)
    # all waits of one process together poll at most this often (waits.PollBudget); staging:
    # under the product's 600 requests a minute per org, with room for each xdist worker
    polls_per_s: float


# One row per profile, in the order of Profile's fields (seconds).
#             poll  ssm   online restart offline ssm_on cmd delete recon grace start http log poll/s
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("fast", 0.02, 0.01, 30, 30, 30, 20, 20, 20, 10, 1.5, 60, 10, 5, 250),
        Profile("staging", 3.0, 1.0, 900, 900, 300, 600, 120, 600, 600, 120, 60, 30, 15, 3),
    )
}
