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


PROFILES: dict[str, Profile] = {
    "fast": Profile(
        name="fast",
        poll_s=0.02,
        ssm_poll_s=0.01,
        online_s=30.0,
        restart_s=30.0,
        offline_s=30.0,
        ssm_online_s=20.0,
        command_s=20.0,
        delete_s=20.0,
        reconcile_s=10.0,
        auto_restart_grace_s=1.5,
        stack_start_s=60.0,
        http_timeout_s=10.0,
        log_every_s=5.0,
    ),
    "staging": Profile(
        name="staging",
        poll_s=3.0,
        ssm_poll_s=1.0,
        online_s=900.0,
        restart_s=900.0,
        offline_s=300.0,
        ssm_online_s=600.0,
        command_s=120.0,
        delete_s=600.0,
        reconcile_s=600.0,
        auto_restart_grace_s=120.0,
        stack_start_s=60.0,
        http_timeout_s=30.0,
        log_every_s=15.0,
    ),
}
