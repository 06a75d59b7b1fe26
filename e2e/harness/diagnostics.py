"""What a failed wait says about a workspace: its last look, its event timeline, and what the
box itself reports (processes, log tails) if it still answers SSM. Best effort throughout:
diagnostics must never hide the failure they explain."""

from __future__ import annotations

from e2e.harness import report
from e2e.harness.workspace import Workspace

BOX_SCRIPT = (
    "ps -eo pid,ppid,stat,etime,args 2>/dev/null | head -n 30\n"
    'for f in /var/log/*.log; do [ -f "$f" ] || continue; '
    'echo "--- $f (tail)"; tail -n 25 "$f" | cut -c1-300; done'
)


def describe(ws: Workspace) -> str:
    try:
        timeline = report.timeline(ws.events.refresh(), last=12)
    except Exception as exc:
        timeline = f"(events unavailable: {type(exc).__name__}: {exc})"
    last = ws.last_observation
    state = last.describe() if last else "(no observation)"
    box = box_says(ws, last.instance_id if last else None)
    return report.redact(f"workspace {ws.name} ({ws.id}): {state}\nevents:\n{timeline}{box}")


def box_says(ws: Workspace, instance_id: str | None) -> str:
    if not instance_id:
        return ""
    host = ws.host(instance_id)
    try:
        ping = host.ping_status()
        if ping != "Online":
            return f"\nbox {instance_id}: SSM PingStatus {ping}"
        result = host.run(BOX_SCRIPT, check=False, timeout_s=min(10.0, ws.profile.command_s))
    except Exception as exc:
        return f"\nbox {instance_id}: diagnostics unavailable ({type(exc).__name__}: {exc})"
    return f"\nbox {instance_id} says:\n{report.redact(result.stdout)[-6000:]}"
