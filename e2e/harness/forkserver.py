"""Client of `python -m reference forkserver`: warm reference stacks in ~0.6 s instead of ~3.3 s.

The fork server imports the stack once; each stack it forks inherits those imports (the
protocol is in reference/forkserver.py; this side only speaks its JSON lines, it never imports
`reference`). A forked stack is not our child, so `ForkedProcess` watches it through /proc.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from e2e.harness.settings import REPO_ROOT
from e2e.harness.waits import WaitTimeout, wait_for

log = logging.getLogger("e2e.forkserver")
SWITCHES = ("REFERENCE_FAULTS", "REFERENCE_BACKEND")  # a stack gets only those its test asked for


class ForkServerError(RuntimeError):
    pass


def readline_within(stream: IO[bytes], timeout_s: float) -> bytes | None:
    """One line from a pipe, or None if none came in time (a pipe read has no timeout)."""
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return box[0] if box else None


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks (None once it is gone or a zombie): with the pid
    it names one process, even if the pid is later reused."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


class ForkedProcess:
    """The part of `subprocess.Popen` EmbeddedStack uses, for a stack the fork server forked."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._ticks = _start_ticks(pid)

    def poll(self) -> int | None:
        """None while running; 0 once gone (its exit status belongs to the fork server)."""
        alive = self._ticks is not None and _start_ticks(self.pid) == self._ticks
        return None if alive else 0

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait(self, timeout: float | None = None) -> int:
        try:
            wait_for(
                f"stack {self.pid} to end",
                self.poll,
                lambda code: code is not None,
                timeout_s=timeout if timeout is not None else 3600.0,
                poll_s=0.01,
                level=logging.DEBUG,
            )
        except WaitTimeout:
            raise subprocess.TimeoutExpired(f"stack {self.pid}", timeout or 0.0) from None
        return 0


class ForkServer:
    """One fork server per harness process, started on first use; `close()` ends it, and every
    stack it forked then gets SIGTERM (they die with it)."""

    def __init__(self, log_path: Path, start_timeout_s: float = 60.0) -> None:
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._requests = 0

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:
            code = self._proc.poll()
            raise ForkServerError(f"the fork server ended (code {code})\n{self._tail()}")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in SWITCHES:
            env.pop(name, None)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "reference", "forkserver"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,  # a Ctrl-C reaches pytest, which then stops the stacks
            )
        self._proc = proc
        assert proc.stdout is not None
        line = readline_within(proc.stdout, self.start_timeout_s)
        try:
            ready = json.loads(line or b"")
        except ValueError:
            ready = None
        if not isinstance(ready, dict) or not ready.get("ready"):
            self.close()
            raise ForkServerError(f"the fork server did not start: said {line!r}\n{self._tail()}")
        return proc

    def _tail(self, limit: int = 3000) -> str:
        try:
            return f"--- {self.log_path} (tail) ---\n{self.log_path.read_text()[-limit:]}"
        except OSError:
            return "(no fork server log)"

    def spawn(
        self,
        set_env: Mapping[str, str],
        unset: Sequence[str],
        stdout_path: Path,
        stderr_path: Path,
        timeout_s: float,
    ) -> tuple[ForkedProcess | None, str, str]:
        """Fork one stack: (its process, its announcement line, "") or (process?, "", why not)."""
        with self._lock:
            proc = self._ensure_started()
            assert proc.stdin is not None and proc.stdout is not None
            self._requests += 1
            request = {
                "id": str(self._requests),
                "set": dict(set_env),
                "unset": list(unset),
                "stdout": str(stdout_path),
                "stderr": str(stderr_path),
                "timeout_s": timeout_s,
            }
            try:
                proc.stdin.write((json.dumps(request) + "\n").encode())
                proc.stdin.flush()
            except OSError as exc:
                raise ForkServerError(f"the fork server is gone ({exc})\n{self._tail()}") from None
            raw = readline_within(proc.stdout, timeout_s + 10)
        try:
            answer: dict[str, Any] = json.loads(raw or b"")
        except ValueError:
            raise ForkServerError(
                f"the fork server answered {raw!r} to request {request['id']}\n{self._tail()}"
            ) from None
        forked = ForkedProcess(int(answer["pid"])) if answer.get("pid") else None
        if "announce" in answer:
            return forked, json.dumps(answer["announce"]), ""
        return forked, "", str(answer.get("error") or "no announcement")

    def close(self, timeout_s: float = 15.0) -> None:
        """End of stdin ends the server; its stacks get SIGTERM as it ends."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("the fork server did not end in %.0fs; killing it", timeout_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout_s)
        if proc.stdout is not None:
            proc.stdout.close()
