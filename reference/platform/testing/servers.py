"""Serving for tests: free loopback ports, uvicorn in a thread, the whole stack as a subprocess."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from reference.config import StackConfig
from reference.controlplane.aws import make_client
from reference.procs import stop_process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving `app` on a loopback port in a daemon thread (lifespan included)."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.port = port
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self, timeout_s: float = 10.0) -> None:
        self.thread.start()
        end = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > end or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class ServedStack:
    """`python -m reference serve --json` as a subprocess: the real stack, isolated per test.

    A subprocess keeps moto's process-global state and the fleet's boxes away from anything
    else the test worker runs.
    """

    def __init__(
        self, state_dir: Path, faults_on: str = "", backend: str = "saas", timeout_s: float = 60
    ) -> None:
        self.state_dir = state_dir
        self.argv = [
            sys.executable,
            "-m",
            "reference",
            "serve",
            "--json",
            "--state-dir",
            str(state_dir),
            "--faults",
            faults_on,
            "--backend",
            backend,
        ]
        self.timeout_s = timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, str] = {}

    def __enter__(self) -> ServedStack:
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=open(self.state_dir.parent / "stack.log", "ab"),
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line_box: list[str] = []
        reader = threading.Thread(
            target=lambda: line_box.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(self.timeout_s)
        if not line_box or not line_box[0].strip():
            self.__exit__()
            log = (self.state_dir.parent / "stack.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"reference stack did not start; log tail:\n{log}")
        self.info = json.loads(line_box[0])
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self.proc
        if proc is None:
            return
        stop_process(proc, timeout_s=30)
        if proc.stdout is not None:
            proc.stdout.close()

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.info["platform_url"],
            headers={
                "Authorization": f"Bearer {self.info['admin_token']}",
                "X-Molecule-Org-Id": self.info["org_id"],
            },
            timeout=30,
        )

    def aws(self, service: str) -> Any:
        config = StackConfig(state_dir=self.state_dir)
        config.aws_endpoint_url = self.info["aws_endpoint_url"]
        return make_client(service, config)
