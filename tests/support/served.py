"""`python -m reference serve --json` as a subprocess, as a user (or a CI step) runs it —
started by the harness's own launcher (e2e.targets.embedded), so tests and the suite share
one way of starting a stack."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from e2e.targets.embedded import EmbeddedStack

REPO = Path(__file__).resolve().parents[2]


class Served:
    """A `reference serve --json` subprocess with its own state dir, and what it announced."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.state_dir = tmp_path / "state"
        command = [sys.executable, "-m", "reference", "serve", "--json", "--state-dir",
                   str(self.state_dir), *args]  # fmt: skip
        self.stack = EmbeddedStack(command=command, log_dir=tmp_path, label="serve")
        self.stack.start()
        assert self.stack.proc is not None
        self.proc = self.stack.proc
        self.info: dict[str, Any] = dict(self.stack.info)

    def stderr_text(self) -> str:
        return self.stack.stderr_path.read_text(errors="replace")[-3000:]

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
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout_s)
