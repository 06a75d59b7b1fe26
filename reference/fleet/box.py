"""The host side of one box: its sandbox process and the JSON-lines pipe to its supervisor."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EventHandler = Callable[[str, dict[str, Any]], None]


class Spawner:
    """Starts sandboxes from one long-lived thread.

    `bwrap --die-with-parent` uses PR_SET_PDEATHSIG, which fires when the *thread* that forked it
    ends. Spawning from a request or reconcile thread would kill boxes when that thread exits.
    """

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[list[str], dict[str, Any], Future[Any]] | None] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=self._run, name="box-spawner", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._requests.get()) is not None:
            argv, kwargs, future = item
            try:
                future.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)
        # Stay alive while children may still exist? No: stop() is only called after every
        # box is killed and reaped.

    def spawn(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        future: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((argv, kwargs, future))
        return future.result(timeout=30)

    def stop(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=5)


class BoxProcess:
    """A running sandbox: send commands, receive events, kill it with everything inside."""

    def __init__(self, instance_id: str, argv: list[str], log_path: Path) -> None:
        self.instance_id = instance_id
        self.argv = argv
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._send_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self.exit_code: int | None = None

    def start(self, spawner: Spawner, on_event: EventHandler) -> None:
        with open(self.log_path, "ab") as log_file:
            self._proc = spawner.spawn(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                start_new_session=True,  # the stack's Ctrl-C is ours to handle, not the box's
                close_fds=True,
            )
        self._reader = threading.Thread(
            target=self._read, args=(on_event,), name=f"box-{self.instance_id}", daemon=True
        )
        self._reader.start()

    def _read(self, on_event: EventHandler) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for raw in proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                log.warning("box %s: unparsable event %r", self.instance_id, raw[:200])
                continue
            try:
                on_event(self.instance_id, event)
            except Exception:
                log.exception("box %s: event handler failed on %s", self.instance_id, event)
        self.exit_code = proc.wait()  # reap: no zombies
        on_event(self.instance_id, {"ev": "ended", "code": self.exit_code})

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def send(self, message: dict[str, Any]) -> bool:
        """Write one message to the supervisor; False when the box is already gone."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            return False
        line = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        with self._send_lock:
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return False
        return True

    def kill(self, timeout: float = 10.0) -> None:
        """Power off: SIGKILL the sandbox (its pid namespace dies with it) and reap it."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.error("box %s: sandbox pid %s did not die", self.instance_id, proc.pid)
        with self._send_lock:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=timeout)
