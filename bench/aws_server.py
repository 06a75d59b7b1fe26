"""AWS calls as the stack's endpoint saw them, from every caller (control plane, boxes, harness),
counted with moto's own request recorder, so nothing in `reference/` changes.

The stack runs moto in its process; moto's recorder appends each request moto serves to the
file named by MOTO_RECORDER_FILEPATH (read when the stack imports moto, so it must be in the
environment the stack is started with), between `POST /moto-api/recorder/start-recording` and
`stop-recording`. What it cannot see: the SSM Run Command operations the reference answers in
front of moto (SendCommand, GetCommandInvocation, ListCommandInvocations,
DescribeInstanceInformation) and requests the throttle fault refused; the harness-side counts
have those. It costs the stack one JSON line appended per request it serves.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs

import httpx

RECORDER_ENV = "MOTO_RECORDER_FILEPATH"


@contextmanager
def recorder_file(path: Path) -> Iterator[Path]:
    """Stacks started inside this block record to `path` (once recording is switched on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    before = os.environ.get(RECORDER_ENV)
    os.environ[RECORDER_ENV] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop(RECORDER_ENV, None)
        else:
            os.environ[RECORDER_ENV] = before


def switch(endpoint_url: str, on: bool) -> None:
    what = "start-recording" if on else "stop-recording"
    response = httpx.post(f"{endpoint_url.rstrip('/')}/moto-api/recorder/{what}", timeout=30)
    response.raise_for_status()


def _service(headers: dict[str, str]) -> str:
    auth = headers.get("Authorization", "")
    try:
        return auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")[3].lower()
    except IndexError:
        return "?"


def _operation(entry: dict[str, object]) -> str:
    headers = entry.get("headers")
    headers = headers if isinstance(headers, dict) else {}
    target = str(headers.get("X-Amz-Target", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    body = entry.get("body") or ""
    raw = base64.b64decode(str(body)) if entry.get("body_encoded") else str(body).encode()
    action = parse_qs(raw.decode("utf-8", "replace")).get("Action") or ["?"]
    return action[0]


def count(path: Path) -> tuple[Counter[str], int]:
    """`aws service:Operation` → calls, and the number of lines that were not a request."""
    counts: Counter[str] = Counter()
    unreadable = 0
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return counts, 0
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            unreadable += 1
            continue
        headers = entry.get("headers") if isinstance(entry, dict) else None
        if not isinstance(headers, dict):
            unreadable += 1
            continue
        counts[f"aws {_service(headers)}:{_operation(entry)}"] += 1
    return counts, unreadable
