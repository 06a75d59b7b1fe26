"""Platform state for unit tests: a real `Store` on a tmp dir, template directories, and the
fakes `Cycles` needs for what it reaches over the network (control plane) or runs later (jobs)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reference.platform.cp_client import CpError
from reference.platform.store import Store, Workspace


def add_row(
    store: Store,
    name: str = "w",
    *,
    parent_id: str | None = None,
    template: str = "",
    declared: list[str] | None = None,
    status: str = "provisioning",
    compute: dict[str, Any] | None = None,
) -> Workspace:
    """A workspace row as `Lifecycle.create` stores one (plus a status, for set-ups)."""
    ws = store.add_workspace(
        event=("WORKSPACE_PROVISIONING", {"name": name, "tier": 4, "runtime": "claude-code"}),
        name=name,
        parent_id=parent_id,
        template=template,
        runtime="claude-code",
        model="m",
        role="",
        tier=4,
        compute=compute or {},
        secrets={},
        declared_plugins=declared or [],
        token="wst-test",
    )
    if status != "provisioning":
        ws = store.update(ws.id, status=status)
    return ws


def write_tree(root: Path, files: Mapping[str, bytes | str]) -> Path:
    """Write `{relpath: bytes or text}` under root (text as UTF-8); returns root."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


class FakeCp:
    """The control plane as `Cycles` sees it: records every call, answers or refuses."""

    def __init__(self) -> None:
        self.provisions: list[dict[str, Any]] = []
        self.stops: list[tuple[str, str, bool]] = []
        self.failing_stops = 0
        self.refusal: str | None = None
        self.on_stop: Callable[[], None] | None = None

    def provision(self, request: dict[str, Any]) -> dict[str, Any]:
        self.provisions.append(request)
        if self.refusal is not None:
            raise CpError(413, self.refusal)
        return {"instance_id": f"i-{len(self.provisions):017x}", "private_ip": "10.0.0.9"}

    def stop(self, workspace_id: str, instance_id: str, *, prune: bool = False) -> dict[str, Any]:
        self.stops.append((workspace_id, instance_id, prune))
        if self.on_stop is not None:
            self.on_stop()
        if self.failing_stops:
            self.failing_stops -= 1
            raise CpError(502, "AWS call failed: boom")
        return {"status": "stopped"}


class InlineJobs:
    """`Jobs` that runs each job at once, in the caller's thread (deterministic cycles)."""

    def __init__(self) -> None:
        self.stopping = threading.Event()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        fn(*args)

    def later(self, delay_s: float, fn: Callable[..., None], *args: Any) -> None:
        fn(*args)
