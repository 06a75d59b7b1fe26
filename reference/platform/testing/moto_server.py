"""One moto server per test process, in its own process (moto's state is process-global)."""

from __future__ import annotations

import atexit
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
from reference.procs import die_with_parent, stop_process

_moto_lock = threading.Lock()
_moto_url: str | None = None
_moto_proc: subprocess.Popen[bytes] | None = None


def _stop_moto() -> None:
    if _moto_proc is not None:
        stop_process(_moto_proc, timeout_s=5)


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
                preexec_fn=die_with_parent,  # SIGTERM when the test process dies
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
