"""Process lifetime helpers shared by the fork server and the test servers (Linux, like boxes)."""

from __future__ import annotations

import ctypes
import signal
import subprocess
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """In a child: receive `sig` when the parent ends, even by SIGKILL (Linux prctl). Where
    prctl is missing, nothing happens: the parent still stops its children itself."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


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
