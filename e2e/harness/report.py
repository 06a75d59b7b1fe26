"""Report helpers: allure steps and attachments, the event timeline, secret redaction.

Everything that reaches a report goes through `redact` first: admin tokens and AWS secrets must
never appear in allure results, logs or failure messages. The secrets live in one registry
(`e2e.redaction`), which the pytest plugin also applies to every report, log line and file;
text is masked before it is cut, so a cut never leaves half a token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import allure

from e2e.redaction import REGISTRY

log = logging.getLogger("e2e.report")

CAP_CHARS = 20_000  # attachments beyond this are cut, saying so


def register_secret(*values: str | None) -> None:
    """Remember values that must be masked wherever they might be reported (which lengths
    are masked how: e2e/redaction/secrets.py)."""
    REGISTRY.register(*values)


def redact(text: str) -> str:
    return REGISTRY.redact(text)


def cap(text: str, limit: int = CAP_CHARS) -> str:
    """Masked, then cut (cutting first could leave the start of a token)."""
    text = redact(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [cut: {len(text) - limit} more characters]"


@contextmanager
def step(title: str) -> Iterator[None]:
    """An allure step that also logs, so a plain pytest run tells the same story."""
    title = redact(title)
    log.info("step: %s", title)
    with allure.step(title):
        yield


def attach_text(name: str, text: str) -> None:
    allure.attach(cap(redact(text)), name=name, attachment_type=allure.attachment_type.TEXT)


def attach_json(name: str, data: Any) -> None:
    body = json.dumps(data, indent=2, sort_keys=True, default=str)
    allure.attach(cap(redact(body)), name=name, attachment_type=allure.attachment_type.JSON)


def _event_fields(event: Any) -> tuple[str, str, str, str]:
    raw = event.model_dump(mode="json") if hasattr(event, "model_dump") else dict(event)
    payload = raw.get("payload") or {}
    if not isinstance(payload, Mapping):
        payload = {"payload": payload}
    details = " ".join(f"{k}={redact(str(payload[k]))[:120]}" for k in sorted(payload))
    return (
        str(raw.get("id", ""))[:8],
        str(raw.get("created_at", "")),
        str(raw.get("event_type")),
        details,
    )


def timeline(events: Sequence[Any], last: int | None = None) -> str:
    """Events (oldest first) as aligned lines: id prefix, time, type, payload. `last` keeps
    only the tail."""
    rows = [_event_fields(e) for e in events]
    if last is not None and len(rows) > last:
        rows = [("…", "", f"({len(rows) - last} earlier events)", ""), *rows[-last:]]
    if not rows:
        return "(no events)"
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{r[0]:>{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
        for r in rows
    )


def attach_timeline(name: str, events: Iterable[Any]) -> None:
    attach_text(name, timeline(list(events)))
