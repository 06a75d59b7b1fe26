"""Counting the calls a client makes: platform requests by route (httpx request hooks) and AWS
operations (botocore `before-call`, once per call however many attempts it took; the attempts
are counted apart through `before-send`). Optionally keeps the order, so two clients' call
sequences can be compared."""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

import httpx

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FILES = re.compile(r"(/workspaces/:id/files)/.+")
# what a poll asks again and again: the rest (creates, triggers, commands sent) must match 1:1
READS = frozenset(
    {
        "http GET /workspaces/:id",
        "http GET /events/:id",
        "aws ec2:DescribeInstances",
        "aws ssm:DescribeInstanceInformation",
        "aws ssm:GetCommandInvocation",
    }
)
ATTEMPTS = "attempts aws"  # HTTP attempts of AWS calls: calls + botocore's retries


def route(method: str, path: str, base_path: str = "") -> str:
    """`GET /workspaces/<uuid>/files/a/b` → `GET /workspaces/:id/files/*`."""
    if base_path and base_path != "/" and path.startswith(base_path):
        path = path[len(base_path.rstrip("/")) :]
    path = _FILES.sub(r"\1/*", _UUID.sub(":id", path))
    return f"{method} {path or '/'}"


class Calls:
    """A thread-safe tally of calls, `http …` and `aws service:Operation`."""

    def __init__(self, *, keep_order: bool = False) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.order: list[str] | None = [] if keep_order else None

    def add(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1
            if self.order is not None:
                self.order.append(what)

    def _attempt(self, **_: Any) -> None:
        with self._lock:
            self.counts[ATTEMPTS] += 1

    def watch_http(self, client: httpx.Client) -> None:
        base = client.base_url.path

        def hook(request: httpx.Request) -> None:
            self.add("http " + route(request.method, request.url.path, base))

        client.event_hooks["request"].append(hook)

    def watch_aws(self, *clients: Any) -> None:
        def hook(model: Any, **_: Any) -> None:
            self.add(f"aws {model.service_model.service_name}:{model.name}")

        for client in {id(c): c for c in clients}.values():  # one client may serve two roles
            client.meta.events.register("before-call", hook)
            client.meta.events.register("before-send", self._attempt)

    def take(self) -> tuple[Counter[str], list[str]]:
        """The tally so far (and the order, if kept); starts a new one."""
        with self._lock:
            counts, self.counts = self.counts, Counter()
            order = self.order or []
            self.order = [] if self.order is not None else None
        return counts, order


def per_item(counts: Counter[str], items: int, prefix: str) -> dict[str, float]:
    """Calls of one kind (`http `/`aws `) per workspace, most frequent first."""
    chosen = {k[len(prefix) :]: v for k, v in counts.items() if k.startswith(prefix)}
    ranked = sorted(chosen.items(), key=lambda kv: -kv[1])
    return {k: round(v / max(1, items), 1) for k, v in ranked}


def is_read(call: str) -> bool:
    return call in READS
