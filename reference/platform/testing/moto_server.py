"""One moto server per test process, in its own process (moto's state is process-global)."""

from __future__ import annotations

import atexit
import ctypes
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx

from reference.config import StackConfig
from reference.controlplane.aws import make_client
from reference.platform.testing.servers import free_port
from reference.platform.testing.waits import Eventually

_moto_lock = threading.Lock()
_moto_url: str | None = None
_moto_proc: subprocess.Popen[bytes] | None = None


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, even by SIGKILL (Linux prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def _stop_moto() -> None:
    if _moto_proc is not None and _moto_proc.poll() is None:
        _moto_proc.terminate()
        try:
            _moto_proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _moto_proc.kill()
            _moto_proc.wait()


def shared_moto_url() -> str:
    """One moto server per test process, in its own process.

    moto's state is process-global: an in-process server would share it with any other
    in-process stack of the same test worker (whose fleet would then boot our instances).
    """
    global _moto_url, _moto_proc
    with _moto_lock:
        if _moto_url is None:
            port = free_port()
            _moto_proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
            atexit.register(_stop_moto)
            url = f"http://127.0.0.1:{port}"
            Eventually.wait(
                lambda: _moto_answers(url),
                bool,
                f"moto server on port {port} (pid {_moto_proc.pid}) to answer",
                timeout_s=30,
                every_s=0.05,
            )
            _moto_url = url
            ec2 = make_client("ec2", _warm_config(url))
            ec2.describe_volumes()
            ec2.describe_instances()
        return _moto_url


def _moto_answers(url: str) -> bool:
    try:
        return httpx.get(url + "/moto-api/", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def _warm_config(url: str) -> StackConfig:
    config = StackConfig(state_dir=Path(tempfile.gettempdir()))
    config.aws_endpoint_url = url
    return config
