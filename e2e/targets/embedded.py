"""Start the reference stack as a black-box subprocess (`python -m reference serve --json`).

Never imported: the stack announces its endpoints and credentials on its first stdout line.
The process gets its own session, so a Ctrl-C at the terminal reaches pytest (which cleans up
its workspaces through the still-running stack) before the stack is stopped. Should this
process end without stopping it (SIGKILL; a benchmark's default SIGTERM), the stack stops
itself, boxes included: it watches the process that started it (docs/contract.md, Processes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from e2e.harness.report import redact
from e2e.harness.settings import REPO_ROOT, SettingsError, Target
from e2e.targets.forkserver import ForkedProcess, ForkServer

log = logging.getLogger("e2e.embedded")


SWITCHES = ("REFERENCE_FAULTS", "REFERENCE_BACKEND")  # a stack gets only those its test asked for


def readline_within(stream: IO[bytes], timeout_s: float) -> bytes | None:
    """One line from a pipe, or None if none came in time (a pipe read has no timeout)."""
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return box[0] if box else None


class StackStartError(RuntimeError):
    pass


class EmbeddedStack:
    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 15.0,
        log_dir: Path | None = None,
        label: str = "stack",
        command: list[str] | None = None,
        forkserver: ForkServer | None = None,
    ) -> None:
        self.extra_env = dict(env or {})
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.label = label
        self.command = command or [sys.executable, "-m", "reference", "serve", "--json"]
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="e2e-stack-"))
        self.forkserver = forkserver
        self.proc: subprocess.Popen[bytes] | ForkedProcess | None = None
        self.info: dict[str, Any] = {}
        self.target: Target | None = None
        self.start_s = 0.0

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.label}.stderr.log"

    def start(self) -> Target:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            line = self._fork() if self.forkserver is not None else self._spawn()
        except BaseException:  # Ctrl-C / SIGTERM while starting: never leave the stack behind
            self.stop()
            raise
        try:
            self.info = json.loads(line)
            self.target = Target.from_stack_line(self.info)
        except (ValueError, SettingsError) as exc:
            self.stop()
            raise StackStartError(
                f"stack announced {redact(line)[:300]!r}: {exc}\n{self._tail()}"
            ) from None
        self.start_s = time.monotonic() - started
        log.info(
            "%s up in %.2fs: %r (logs %s)", self.label, self.start_s, self.target, self.log_dir
        )
        return self.target

    def _spawn(self) -> str:
        """A `serve --json` subprocess of our own; its first stdout line is the announcement."""
        env = {**os.environ, **self.extra_env, "PYTHONUNBUFFERED": "1"}
        for name in SWITCHES:
            if name not in self.extra_env:
                env.pop(name, None)
        with open(self.stderr_path, "wb") as stderr:
            proc = self.proc = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
            )
        assert proc.stdout is not None
        line = self._first_line(proc.stdout)
        threading.Thread(target=self._drain, args=(proc.stdout,), daemon=True).start()
        return line

    def _fork(self) -> str:
        """A stack forked by the warm fork server, with this stack's switches applied."""
        assert self.forkserver is not None
        self.proc, line, error = self.forkserver.spawn(
            self.extra_env,
            [name for name in SWITCHES if name not in self.extra_env],
            self.log_dir / f"{self.label}.stdout.log",
            self.stderr_path,
            self.start_timeout_s,
        )
        if error:
            self.stop()
            raise StackStartError(f"{self.label} (forked): {error}\n{self._tail()}")
        return line

    def _first_line(self, stdout: IO[bytes]) -> str:
        """Read one line with a deadline."""
        raw = readline_within(stdout, self.start_timeout_s)
        assert self.proc is not None
        if raw is None or not raw.strip():
            ended = raw is not None  # read before stop(): stopping it ends the output too
            if ended:  # end of output: the process is exiting; give it a moment to be reaped
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(self.stop_timeout_s)
            code = self.proc.poll()
            self.stop()
            if code is not None:
                why = f"exited with code {code}"
            elif ended:
                why = "closed its output without announcing itself"
            else:
                why = f"said nothing within {self.start_timeout_s:.0f}s"
            raise StackStartError(f"{self.label} {why}\n{self._tail()}")
        return raw.decode("utf-8", "replace").strip()

    def _drain(self, stdout: IO[bytes]) -> None:
        with open(self.log_dir / f"{self.label}.stdout.log", "ab") as sink:
            for chunk in iter(lambda: stdout.readline(), b""):
                sink.write(chunk)

    def _tail(self, limit: int = 3000) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return "(no stderr log)"
        return f"--- {self.stderr_path} (tail) ---\n{redact(text)[-limit:]}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        """Ask the stack to stop (SIGTERM) without waiting; `stop()` later reaps it."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM, bounded wait; then SIGKILL to the stack's own process group."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            # SIGUSR1 makes the stack write every thread's stack to its stderr log first, so
            # the hang that needed a SIGKILL can be diagnosed afterwards.
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGUSR1)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(0.5)
            log.warning(
                "%s ignored SIGTERM for %.0fs; killing its group (thread dump: %s)",
                self.label,
                self.stop_timeout_s,
                self.stderr_path,
            )
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the session we created for it
            proc.wait(self.stop_timeout_s)

    def __enter__(self) -> Target:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
