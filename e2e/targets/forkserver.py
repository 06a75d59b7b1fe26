"""Client of `python -m reference forkserver`: warm reference stacks in ~0.25 s instead of ~3.3 s.

The fork server imports the stack once; each stack it forks inherits those imports (the
protocol is in reference/forkserver.py; this side only speaks its JSON lines, it never imports
`reference`). A forked stack is not our child, so `ForkedProcess` watches it through /proc.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from e2e.harness.report import redact
from e2e.harness.settings import REPO_ROOT
from e2e.harness.waits import WaitTimeout, wait_for

log = logging.getLogger("e2e.forkserver")


class ForkServerError(RuntimeError):
    pass


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
    """The fork server, owned or shared. Owned (`ForkServer(log)`): started here on first use
    (or by `start()`), listening on a fresh Unix socket; `close()` ends it, and every stack it
    forked then stops (they end with it, as it ends with this process). Shared
    (`socket_path=`): one that its owner — the pytest controller, for all xdist workers —
    started; `close()` leaves it alone."""

    def __init__(
        self, log_path: Path, start_timeout_s: float = 60.0, socket_path: Path | None = None
    ) -> None:
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.socket_path = socket_path
        self.owned = socket_path is None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._requests = 0

    def start(self) -> Path:
        """(Owner) Start the server; it need not be ready: requests wait on its socket while
        it imports. Returns the socket's path, for the processes that share it."""
        with self._lock:
            return self._ensure_started()

    def _ensure_started(self) -> Path:
        if not self.owned or self._proc is not None:
            if self._proc is not None and self._proc.poll() is not None:
                code = self._proc.poll()
                raise ForkServerError(f"the fork server ended (code {code})\n{self._tail()}")
            assert self.socket_path is not None
            return self.socket_path
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # switches: each request unsets its own
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="e2e-forkserver-")) / "socket"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(path))  # bound before the server runs: clients never race it
            listener.listen(64)
            fd = listener.fileno()
            with open(self.log_path, "ab") as log_file:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "reference", "forkserver", "--listen-fd", str(fd)],
                    cwd=REPO_ROOT,
                    env=env,
                    pass_fds=(fd,),
                    stdin=subprocess.PIPE,  # its lifeline: closing it ends the server
                    stdout=log_file,
                    stderr=log_file,
                    start_new_session=True,  # a Ctrl-C reaches pytest, which then stops stacks
                )
        self.socket_path = path
        return path

    def _tail(self, limit: int = 3000) -> str:
        try:
            return f"--- {self.log_path} (tail) ---\n{redact(self.log_path.read_text())[-limit:]}"
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
            path = self._ensure_started()
            self._requests += 1
            request_id = f"{os.getpid()}-{self._requests}"
        request = {
            "id": request_id,
            "set": dict(set_env),
            "unset": list(unset),
            "stdout": str(stdout_path),
            "stderr": str(stderr_path),
            "timeout_s": timeout_s,
        }
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                # the server may still be importing, and answers one request at a time
                conn.settimeout(self.start_timeout_s + 2 * timeout_s)
                conn.connect(str(path))
                conn.sendall((json.dumps(request) + "\n").encode())
                raw = conn.makefile("rb").readline()
        except OSError as exc:
            raise ForkServerError(
                f"fork server at {path}, request {request_id}: {exc!r}\n{self._tail()}"
            ) from None
        try:
            answer: dict[str, Any] = json.loads(raw or b"")
        except ValueError:
            raise ForkServerError(
                f"the fork server answered {raw!r} to request {request_id}\n{self._tail()}"
            ) from None
        forked = ForkedProcess(int(answer["pid"])) if answer.get("pid") else None
        if "announce" in answer:
            return forked, json.dumps(answer["announce"]), ""
        return forked, "", str(answer.get("error") or "no announcement")

    def close(self, timeout_s: float = 15.0) -> None:
        """(Owner) End of stdin ends the server; its stacks get SIGTERM as it ends."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
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
        if self.socket_path is not None:
            shutil.rmtree(self.socket_path.parent, ignore_errors=True)
