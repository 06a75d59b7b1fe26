"""Process lifetime helpers shared by `serve`, the fork server and the test servers (Linux, like
boxes)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """In a child: receive `sig` when the parent ends, even by SIGKILL (Linux prctl). Where
    prctl is missing, nothing happens: the parent still stops its children itself.

    The kernel sends it when the *thread* that forked the child ends: use it only for children
    of a thread that lives as long as they should (a single-threaded parent's main thread)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def watch_parent(parent_pid: int) -> int | None:
    """A descriptor that polls readable once `parent_pid`, this process's parent, has ended —
    at once if it already has (we were re-parented). A pidfd watches the whole process, so it
    does not matter which of its threads started us.

    None where the kernel has no pidfd (Linux < 5.3): then the parent's end sends us SIGTERM
    instead (`die_with_parent`), which every caller also treats as a stop."""
    try:
        fd = os.pidfd_open(parent_pid)
    except ProcessLookupError:
        return _ended()
    except (OSError, AttributeError):
        die_with_parent()
        return None
    if os.getppid() != parent_pid:  # it ended before we opened it: the pid is not ours to watch
        os.close(fd)
        return _ended()
    return fd


def _ended() -> int:
    """A descriptor that is readable right away (a pipe at end of file)."""
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    return read_fd


def stop_process(proc: subprocess.Popen[Any], timeout_s: float) -> None:
    """SIGTERM, up to `timeout_s` to end, then SIGKILL; always reaped."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
