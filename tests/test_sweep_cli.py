"""`python -m e2e.sweep` as CI runs it (a subprocess, the real clock): the bare command deletes
nothing and says so; Ctrl-C and SIGTERM in the middle of a DELETE still leave a summary; and
the idle guard the staging smoke runs first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.fake_tenant import Fake, env_for, serve

from e2e.sweep import main

REPO = Path(__file__).resolve().parent.parent


def minute_run(minutes_ago: float, suffix: str) -> str:
    """A run id as the harness generates it, started `minutes_ago`."""
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return started.strftime("%m%d%H%M") + suffix


@pytest.fixture
def live() -> Iterator[Fake]:
    with serve(Fake(datetime.now(UTC))) as running:
        yield running


def start(fake: Fake, cwd: Path, *argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, **env_for(fake), "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "e2e.sweep", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_bare_command_deletes_nothing_and_says_it_was_a_dry_run(
    live: Fake, tmp_path: Path
) -> None:
    run = minute_run(300, "ab12")
    live.template(f"e2e-{run}-gw0-tpl-1")
    live.aged(f"e2e-{run}-gw0-gate-2", 290)
    proc = start(live, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert live.deletes() == []
    assert f"would delete: workspace e2e-{run}-gw0-gate-2" in out
    assert "dry run: nothing was deleted (pass --yes to delete)" in out
    summary = json.loads((tmp_path / "reports" / "sweep.json").read_text())  # the default path
    assert summary["mode"] == "dry run" and summary["complete"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_sweep_still_writes_its_summary(
    live: Fake, tmp_path: Path, sig: signal.Signals
) -> None:
    run = minute_run(300, "ab12")
    live.template(f"e2e-{run}-gw0-tpl-1")
    first = live.aged(f"e2e-{run}-gw0-gate-2", 295)
    live.hang.add(live.aged(f"e2e-{run}-gw0-gate-3", 290))
    proc = start(live, tmp_path, "--yes", "--summary", "out/sweep.json")
    deadline = time.monotonic() + 30
    while len(live.deletes()) < 2:  # the second DELETE hangs: interrupt it there
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    summary = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert summary["interrupted"] and not summary["complete"]
    cases = {r["id"]: (r["case"], r["reason"]) for r in summary["resources"]}
    assert cases[first][0] == "deleted"
    assert "interrupted" in out


def test_wait_idle_passes_when_only_this_run_and_quiet_leftovers_exist(
    live: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine, dead = minute_run(2, "aa11"), minute_run(400, "bb22")
    live.aged(f"e2e-{mine}-main-gate-1", 1)
    live.aged(f"e2e-{dead}-main-gate-2", 300)
    live.aged("e2e-checkout-main-flow-1", 1)  # busy, but not a run of this harness
    argv = ["--wait-idle-minutes", "0", "--older-than-minutes", "55", "--run-id", mine]
    code = main([*argv, "--summary", str(tmp_path / "s.json")], env_for(live))
    assert code == 0
    assert "no other e2e run active" in capsys.readouterr().out
    assert live.deletes() == []


def test_wait_idle_fails_naming_the_live_run(live: Fake, tmp_path: Path) -> None:
    mine, other = minute_run(2, "aa11"), minute_run(30, "cc33")
    live.aged(f"e2e-{mine}-main-gate-1", 1)
    live.aged(f"e2e-{other}-gw1-gate-9", 28, last=12)
    argv = ["--wait-idle-minutes", "0", "--older-than-minutes", "55", "--run-id", mine]
    path = tmp_path / "s.json"
    assert main([*argv, "--summary", str(path)], env_for(live)) == 1
    summary = json.loads(path.read_text())
    assert f"run {other} (last event 12." in summary["error"]
    assert "another e2e run is still active" in summary["error"]
    assert live.deletes() == []
