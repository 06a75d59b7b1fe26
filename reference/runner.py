"""Run one stack in this process until SIGINT/SIGTERM or its parent's end: shared by `serve` and
the fork server."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import resource
import select
import signal
import sys
import threading
from collections.abc import Callable, Mapping

from reference.procs import watch_parent


def run_stack(
    env: Mapping[str, str],
    announce: Callable[[dict[str, str]], None],
    *,
    with_platform: bool = True,
    parent_pid: int | None = None,
) -> int:
    """Start the stack configured by `env`, `announce` its URLs, serve until a stop signal or
    until process `parent_pid` (our parent; None: never) ends, then stop every part — every box
    killed and reaped. Exit code 2 for a bad configuration (said on stderr)."""
    from reference.config import StackConfig
    from reference.stack import Stack

    try:
        config = StackConfig.from_env(dict(env))
    except ValueError as exc:
        print(f"reference: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    # `kill -USR1 <pid>` writes every thread's stack to stderr: how a hang gets diagnosed.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if parent_pid is not None:
        _stop_when_parent_ends(parent_pid, stop)

    _raise_open_file_limit()
    stack = Stack(config, with_platform=with_platform)
    try:
        stack.start()
        announce(stack.describe())
        while not stop.wait(1.0):
            pass
    finally:
        stack.stop()
    return 0


def _raise_open_file_limit(wanted: int = 16384) -> None:
    """Each box holds sockets and pipes in this process; 200 of them pass a soft limit of 1024
    (the usual default), so the soft limit goes up to what the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _stop_when_parent_ends(parent_pid: int, stop: threading.Event) -> None:
    """A stack nobody can stop any more stops itself: its boxes must not outlive its user."""
    fd = watch_parent(parent_pid)
    if fd is None:
        return  # SIGTERM stands in (die_with_parent)

    def wait() -> None:
        ended = select.poll()  # not select(): a stack with many boxes has fds past 1024
        ended.register(fd, select.POLLIN)
        ended.poll()
        os.close(fd)
        stop.set()
        with contextlib.suppress(OSError):  # stderr may have been a pipe to the parent
            print(f"reference: parent process {parent_pid} ended; stopping", file=sys.stderr)

    threading.Thread(target=wait, name="parent-watch", daemon=True).start()
