"""The box's init: runs the boot step and the agent (a thread), and the SSM commands.

It is the one long-lived process per box that the fleet talks to (JSON lines: commands on
stdin, events on stdout), and the only Python in the box: fifty boxes must fit in 1.5 GiB.
Each command is written to `_script.sh` and run as `sh -c <path>` in its own process group,
like amazon-ssm-agent does (reference/box/ssm_exec.py); what it leaves running stays alive
like on a real box, until the box itself ends. Output is kept only up to the SSM cap while the
rest is drained and dropped, so a command printing gigabytes costs nothing. Stdlib only
(Debian's python3 inside the sandbox); pyyaml is the one exception, for the agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from reference.box import layout, limits, ssm_exec

_emit_lock = threading.Lock()
# The box's instance.json (instance id and region for the SSM paths and env), read once.
_instance: dict[str, Any] = {}
COMMAND_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "USER": "root",
    "LANG": "C.UTF-8",
    "SHELL": "/bin/bash",
}
# After a command exits, how long to wait for its pipes to close. A background process that
# inherited them keeps them open forever, and must not hold the answer back.
PIPE_GRACE_S = 0.2


def emit(event: dict[str, Any]) -> None:
    """Send one event line to the fleet; a closed pipe means the fleet is gone, so we go too."""
    line = json.dumps(event, separators=(",", ":")) + "\n"
    with _emit_lock:
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            os._exit(0)


class CappedPipe:
    """Drain a pipe in a thread, keeping at most `cap` bytes."""

    def __init__(self, fd: int, cap: int = limits.OUTPUT_CAP_BYTES) -> None:
        self.fd = fd
        self.cap = cap
        self.kept = bytearray()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            while True:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    break
                with self.lock:
                    room = self.cap - len(self.kept)
                    if room > 0:
                        self.kept += chunk[:room]
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self) -> str:
        with self.lock:
            return limits.cap_text(bytes(self.kept))


def _failed_to_start(cmd_id: str, started: float, reason: str) -> None:
    emit(
        {
            "ev": "done",
            "id": cmd_id,
            "code": 1,
            "timed_out": False,
            "stdout": "",
            "stderr": reason,
            "t_start": started,
            "t_end": time.time(),
        }
    )


def run_command(msg: dict[str, Any]) -> None:
    """Run one SSM command: ack (Pending), start (InProgress), then report the outcome."""
    import subprocess  # here, not at the top: it is not on the boot's critical path

    cmd_id = msg["id"]
    time.sleep(float(msg.get("ack_delay", 0)))
    emit({"ev": "ack", "id": cmd_id})
    time.sleep(float(msg.get("start_delay", 0)))
    started = time.time()
    emit({"ev": "started", "id": cmd_id, "t": started})
    try:
        cwd = ssm_exec.working_directory(msg.get("cwd") or "")
        path = ssm_exec.script_path(str(_instance.get("instance_id") or "i-unknown"), cmd_id)
        ssm_exec.write_script(path, list(msg["commands"]))
    except (OSError, ValueError) as exc:
        _failed_to_start(cmd_id, started, f"failed to create script file. {exc}\n")
        return
    if not os.path.isdir(cwd):
        _failed_to_start(cmd_id, started, f"workingDirectory {cwd!r} does not exist on the box\n")
        return
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = subprocess.Popen(
            ssm_exec.argv(path),
            cwd=cwd,
            env=ssm_exec.command_env(COMMAND_ENV, _instance),
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            process_group=0,  # the agent's Setpgid: a timeout kills the whole group
        )
    except OSError as exc:
        os.close(out_r)
        os.close(err_r)
        _failed_to_start(cmd_id, started, f"could not start the command: {exc}\n")
        return
    finally:
        os.close(out_w)
        os.close(err_w)
    stdout, stderr = CappedPipe(out_r), CappedPipe(err_r)
    timed_out = False
    try:
        code = proc.wait(timeout=float(msg.get("timeout", 3600)))
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = -1
    ended = time.time()
    stdout.thread.join(PIPE_GRACE_S)
    stderr.thread.join(max(0.0, PIPE_GRACE_S - (time.time() - ended)))
    emit(
        {
            "ev": "done",
            "id": cmd_id,
            "code": code,
            "timed_out": timed_out,
            "stdout": stdout.text(),
            "stderr": stderr.text(),
            "t_start": started,
            "t_end": ended,
        }
    )


def molecule_lifecycle() -> None:
    """Boot, then the agent, in this process (one lean Python per box); report how it ended."""
    code = 1
    instance: dict[str, Any] = {}
    user_data: dict[str, Any] | None = None
    try:
        from reference.box import agent, boot

        # Import pyyaml for the agent while boot waits on the network.
        threading.Thread(target=agent.load_yaml, daemon=True).start()
        with open(layout.INSTANCE_PATH, encoding="utf-8") as handle:
            instance = json.load(handle)
        user_data = boot.run(instance)
        code = 1 if user_data is None else agent.run(instance, user_data)
    except Exception as exc:  # a bug must be visible in the box's log, the fleet and platform
        import traceback

        from reference.box import boxlog
        from reference.box.registry import Registry, RegistryError

        boxlog.log("supervisor", f"boot/agent crashed: {exc!r}\n{traceback.format_exc()}")
        code = 70
        if user_data is not None:
            try:
                Registry.for_user_data(user_data).boot_failed(
                    user_data["workspace_id"], instance["instance_id"], f"agent crashed: {exc!r}"
                )
            except (RegistryError, KeyError) as report_exc:
                boxlog.log("supervisor", f"could not report the crash: {report_exc!r}")
    emit({"ev": "agent-exit", "code": code})


def load_instance() -> None:
    """instance.json, for the SSM paths; a box without one (tests) still runs commands."""
    try:
        with open(layout.INSTANCE_PATH, encoding="utf-8") as handle:
            _instance.update(json.load(handle))
    except (OSError, ValueError):
        pass


def main() -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    load_instance()
    emit({"ev": "ready", "pid": os.getpid(), "t": time.time()})
    if "--no-boot" not in sys.argv:
        threading.Thread(target=molecule_lifecycle, name="molecule", daemon=True).start()
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            emit({"ev": "error", "error": f"bad message {line[:200]!r}"})
            continue
        if msg.get("op") == "run":
            threading.Thread(target=run_command, args=(msg,), daemon=True).start()
    # stdin closed: the fleet let go of this box. Ending here ends the whole sandbox.


if __name__ == "__main__":
    main()
