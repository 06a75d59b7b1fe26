"""`python -m reference serve --json` as a subprocess, as a user (or a CI step) runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class Served:
    """A `reference serve --json` subprocess and what it printed."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.state_dir = tmp_path / "state"
        self.stderr = open(tmp_path / "serve.stderr", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reference", "serve", "--json", "--state-dir",
             str(self.state_dir), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )  # fmt: skip
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        if not line or not line[0]:
            self.proc.kill()
            raise AssertionError(f"serve printed no JSON line; stderr: {self.stderr_text()}")
        self.info = json.loads(line[0])

    def stderr_text(self) -> str:
        self.stderr.flush()
        return Path(self.stderr.name).read_text(errors="replace")[-3000:]

    def as_stack(self) -> Any:
        """What the `Workspaces` helper needs to know about a stack."""
        return SimpleNamespace(
            config=SimpleNamespace(
                aws_endpoint_url=self.info["aws_endpoint_url"],
                region=self.info["region"],
                aws_access_key_id=self.info["aws_access_key_id"],
                aws_secret_access_key=self.info["aws_secret_access_key"],
                volumes_dir=self.state_dir / "volumes",
                state_dir=self.state_dir,
            )
        )

    def stop(self, sig: int, timeout_s: float = 30) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        finally:
            self.stderr.close()
