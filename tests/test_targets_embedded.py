"""EmbeddedStack lifecycle with stand-in processes: announce, die early, stay silent, ignore
SIGTERM. Each must end with no process left and an error that says what happened."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from e2e.targets.embedded import EmbeddedStack, StackStartError

ANNOUNCE = {
    "platform_url": "http://127.0.0.1:1",
    "aws_endpoint_url": "http://127.0.0.1:2",
    "admin_token": "adm-x",
    "org_id": "org",
    "region": "us-east-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}


def stand_in(tmp_path: Path, body: str, **kw: Any) -> EmbeddedStack:
    return EmbeddedStack(command=[sys.executable, "-c", body], log_dir=tmp_path, label="fake", **kw)


def test_reads_the_announcement_and_stops_on_sigterm(tmp_path: Path) -> None:
    body = f"import json,time; print(json.dumps({ANNOUNCE!r}), flush=True); time.sleep(60)"
    stack = stand_in(tmp_path, body)
    target = stack.start()
    assert target.platform_url == "http://127.0.0.1:1" and target.admin_token == "adm-x"
    assert "adm-x" not in repr(target)
    stack.stop()
    assert not stack.alive()


def test_early_exit_is_reported_with_stderr(tmp_path: Path) -> None:
    stack = stand_in(tmp_path, "import sys; print('bad config', file=sys.stderr); sys.exit(2)")
    with pytest.raises(StackStartError, match=r"exited with code 2(.|\n)*bad config"):
        stack.start()


def test_silence_hits_the_deadline_and_the_process_is_stopped(tmp_path: Path) -> None:
    stack = stand_in(tmp_path, "import time; time.sleep(60)", start_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(StackStartError, match="said nothing within"):
        stack.start()
    assert time.monotonic() - started < 10 and not stack.alive()


def test_garbage_announcement_is_refused(tmp_path: Path) -> None:
    body = "import time; print('hello', flush=True); time.sleep(60)"
    with pytest.raises(StackStartError, match="stack announced 'hello'"):
        stand_in(tmp_path, body).start()


def test_a_stack_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    body = (
        "import json,signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"print(json.dumps({ANNOUNCE!r}), flush=True); time.sleep(60)"
    )
    stack = stand_in(tmp_path, body, stop_timeout_s=0.5)
    stack.start()
    stack.stop()
    assert not stack.alive()


def test_announcement_fields_are_all_required(tmp_path: Path) -> None:
    partial = {k: v for k, v in ANNOUNCE.items() if k != "admin_token"}
    body = f"import json,time; print(json.dumps({partial!r}), flush=True); time.sleep(60)"
    with pytest.raises(StackStartError, match="admin_token"):
        stand_in(tmp_path, body).start()
    assert json.dumps(partial)
