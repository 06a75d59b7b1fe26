"""What the gate does to a workspace — a manual restart, a plugin install, a crash — each
followed by the wait for the box that reflects it (settle.py)."""

from __future__ import annotations

import logging
import shlex

from e2e.harness import report
from e2e.harness.events import OFFLINE
from e2e.harness.identity import BoxIdentity
from e2e.harness.settle import restart_or_dropped, wait_fresh_box, wait_stable
from e2e.harness.ssm import SsmError
from e2e.harness.workspace import Marker, Workspace

log = logging.getLogger("e2e.triggers")


class PluginNotDelivered(AssertionError):
    """The install answered, but neither a restart nor the plugin on the box followed."""


def ready_marker(ws: Workspace, what: str) -> Marker:
    """The marker before a trigger; waits for a stable box unless one was just seen."""
    obs = ws.last_observation
    if obs is None or not obs.stable:
        wait_stable(ws, f"stable before {what}")
    return ws.mark()


def restart(ws: Workspace, times: int = 1) -> BoxIdentity:
    """Manual restart(s), then the box after the last. Manual restarts queue in the product:
    each one runs its own full cycle, so `times` triggers are waited for as `times` cycles."""
    marker = ready_marker(ws, "restart")
    label = "manual restart" if times == 1 else f"{times} manual restarts"
    with report.step(f"{label} of {ws.name}"):
        for _ in range(times):
            ws.platform.restart(ws.id)
        return wait_fresh_box(ws, marker, label, cycles=times)


def install_plugin(ws: Workspace, source: str, name: str) -> tuple[BoxIdentity, bool]:
    """Install a plugin; the product pushes it to the running box, then asks for an automatic
    restart that it drops when it comes within its window of the last automatic one. Returns
    the box to verify and whether a restart happened; a dropped restart is a note in the
    summary, never a timeout, once the plugin is shown to be on the current box."""
    marker = ready_marker(ws, "plugin install")
    with report.step(f"install plugin {source} on {ws.name}"):
        answer = ws.platform.install_plugin(ws.id, source)
        log.info("%s: install answered %s", ws.name, answer)
        fresh = restart_or_dropped(ws, marker, f"plugin install {source}")
        if fresh is not None:
            return fresh, True
        identity = marker.identity
        assert identity is not None
        path = f"/configs/plugins/{name}"
        result = ws.host(identity.instance_id).run(f"test -d {shlex.quote(path)}", check=False)
        if not result.ok:
            raise PluginNotDelivered(
                f"{ws.name}: plugin install of {source} answered {answer.status}, but no restart "
                f"came within {ws.profile.auto_restart_grace_s:.1f} s and {path} is not on the "
                f"current box {identity}"
            )
        ws.stats.note(
            f"plugin install {source}: the automatic restart was dropped (inside the "
            "platform's window); the plugin is on the current box, which is verified"
        )
        return identity, False


def kill_agent(ws: Workspace, pattern: str) -> BoxIdentity:
    """Kill the box's agent over SSM (SIGKILL, by pid), then wait for crash recovery:
    WORKSPACE_OFFLINE, an automatic restart, and the fresh box.

    The kill runs detached a moment after the command answers: on a box where the agent
    shares its process with whatever answers SSM (the reference's one-Python box), killing it
    inline would take the command's own answer down with it."""
    marker = ready_marker(ws, "killing the agent")
    assert marker.identity is not None
    host = ws.host(marker.identity.instance_id)
    with report.step(f"kill the agent of {ws.name} on {marker.identity}"):
        script = (
            f"pids=$(pgrep -f -- {shlex.quote(pattern)} | grep -vx 1 || true)\n"
            'if [ -z "$pids" ]; then echo "no process matches" >&2; '
            "ps -eo pid,ppid,stat,etime,args >&2; exit 1; fi\n"
            'echo "killing $pids"\n'
            'setsid sh -c "sleep 0.3; kill -KILL $pids" </dev/null >/dev/null 2>&1 &'
        )
        try:
            host.run(script)
        except SsmError as exc:
            raise AssertionError(f"{ws.name}: could not kill the agent: {exc}") from None
        return wait_fresh_box(ws, marker, "crash recovery", require=(OFFLINE,))
