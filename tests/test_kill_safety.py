"""Every entry point that starts a reference stack leaves no stack and no box behind when it is
stopped mid-run: by SIGTERM (CI cancel, `timeout`), SIGINT (Ctrl-C), or SIGKILL (for the
stacks it started, their parent's death).

Each case runs one entry point as a subprocess with a TMPDIR of its own: every stack inherits
it (environment) and keeps its state dir in it (so every box's bwrap command line names it).
The case waits until a box runs, notes the entry's whole process tree, signals the entry, and
then waits (bounded) until no process of that tree and no process carrying the marker is left.
Two quick tests pin down the mechanism the stacks rely on, `reference.procs.watch_parent`.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.procs import cmdline, descendants, processes_marked, start_ticks

from e2e.harness.waits import WaitTimeout, wait_for
from e2e.targets.embedded import readline_within
from reference.procs import watch_parent

REPO = Path(__file__).resolve().parent.parent
BOX = "reference.box.supervisor"  # the one Python inside every box
MID_RUN_S = 120.0  # until a box runs: a stack start and a workspace create, on a busy machine
LEFTOVERS_S = 60.0  # after the signal: an orderly pytest teardown deletes its workspace first

# the gate test, as `make e2e` runs pytest (without the unit suite's slow-to-import plugins)
E2E = (
    *("-m", "pytest", "e2e/test_gate.py", "-n", "0", "-q", "-p", "no:cacheprovider"),
    *("-p", "no:hypothesispytest", "-p", "no:schemathesis"),
)


@dataclass(frozen=True)
class Entry:
    args: tuple[str, ...]  # after the interpreter; {out} is a scratch directory
    env: tuple[tuple[str, str], ...] = ()


ENTRIES = {
    "e2e-serve": Entry(E2E, (("E2E_STACK_FORKSERVER", "0"),)),
    "e2e-forkserver": Entry(E2E),
    "bench-scale": Entry(("bench/bench_scale.py", "--workspaces", "1", "--out", "{out}")),
    "mutants": Entry(("proofs/mutants.py", "--only", "(none)", "--out", "{out}")),
    "soak": Entry(
        (
            "proofs/soak.py",
            "--runs",
            "1",
            "--per-stack",
            "1",
            "--seed",
            "1",
            "--out",
            "{out}/s.json",
        )
    ),
}
# One signal each (the file must stay quick). pytest turns SIGTERM into Ctrl-C (e2e/conftest.py),
# and a benchmark dies of it at once: for its stacks, that is their parent's death.
CASES = [
    ("e2e-serve", signal.SIGKILL),
    ("e2e-forkserver", signal.SIGKILL),
    ("bench-scale", signal.SIGTERM),
    ("mutants", signal.SIGINT),
    ("soak", signal.SIGTERM),
]


@pytest.fixture
def marker() -> Iterator[Path]:
    """A short scratch dir (unix socket paths live in it): the run's TMPDIR and its marker."""
    path = Path(tempfile.mkdtemp(prefix="ks-"))
    yield path
    for line in processes_marked(str(path)):  # only after a failure: never leave them running
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)


def entry_env(marker: Path, extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """This process's environment without its test-run settings, plus the marker."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "E2E_", "REFERENCE_"))
    }
    env.update(
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        TMPDIR=str(marker),
        E2E_LOG_DIR=str(marker / "logs"),
    )
    env.update(extra)
    return env


def tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no output)"


@pytest.mark.parametrize(("name", "sig"), CASES, ids=[f"{name}-{sig.name}" for name, sig in CASES])
def test_a_stopped_entry_point_leaves_no_stack_and_no_box(
    name: str, sig: signal.Signals, marker: Path
) -> None:
    entry = ENTRIES[name]
    out = marker / "out"
    out.mkdir()
    output = marker / "entry.log"
    with open(output, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, *(a.replace("{out}", str(out)) for a in entry.args)],
            cwd=REPO,
            env=entry_env(marker, entry.env),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our own Ctrl-C is not theirs
        )
    try:
        wait_for(
            f"{name}: a box running",
            lambda: [p for p in descendants(proc.pid) if BOX in cmdline(p)],
            bool,
            timeout_s=MID_RUN_S,
            poll_s=0.02,
            steady_s=MID_RUN_S,  # a box may live for less than a second: never poll slower
            abort=lambda _: None if proc.poll() is None else f"ended: {tail(output)}",
        )
        tree = {proc.pid: start_ticks(proc.pid), **descendants(proc.pid)}
        proc.send_signal(sig)

        def leftovers() -> list[str]:
            proc.poll()  # reap the entry itself once it ends
            left = [
                f"{p}: {cmdline(p)[:160]}" for p, ticks in tree.items() if start_ticks(p) == ticks
            ]
            return sorted({*left, *processes_marked(str(marker))})

        try:
            wait_for(
                f"{name} after {sig.name}: no stack and no box left",
                leftovers,
                lambda left: not left,
                timeout_s=LEFTOVERS_S,
                poll_s=0.05,
                describe="\n".join,
            )
            problem = ""
        except WaitTimeout as exc:
            problem = f"{exc}\n--- {name} output (tail) ---\n{tail(output)}"
        if problem:
            pytest.fail(problem, pytrace=False)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_watch_parent_is_quiet_while_the_parent_lives_and_readable_once_it_ended() -> None:
    alive = watch_parent(os.getppid())
    gone = watch_parent(os.getpid())  # not our parent: as if ours had ended and we moved on
    assert alive is not None and gone is not None
    try:
        assert select.select([alive, gone], [], [], 0)[0] == [gone]
    finally:
        os.close(alive)
        os.close(gone)


# A parent that starts the watcher from a thread which ends once the watcher watches (as a pool's
# thread may), then lives on until its stdin closes. The watcher must stop on the parent's end,
# not the thread's (PR_SET_PDEATHSIG would: it follows the thread that forked the child).
PARENT = """
import os, subprocess, sys, threading
def spawn():
    ready, tell = os.pipe()
    subprocess.Popen([sys.executable, "-c", sys.argv[1], str(tell)], pass_fds=[tell])
    os.close(tell)
    assert os.read(ready, 100) == b"watching"
spawner = threading.Thread(target=spawn)
spawner.start()
spawner.join()
print("spawner thread ended", flush=True)
for line in sys.stdin:
    print("parent still here", flush=True)
"""
WATCHER = """
import os, select, sys
from reference.procs import watch_parent
fd = watch_parent(os.getppid())
os.write(int(sys.argv[1]), b"watching")
select.select([fd], [], [])
print("parent ended", flush=True)
"""


def test_watch_parent_follows_the_parent_process_not_the_thread_that_started_us() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, WATCHER],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,  # the watcher's stdout too
    )
    assert parent.stdin is not None and parent.stdout is not None
    try:
        assert readline_within(parent.stdout, 30) == b"spawner thread ended\n"
        parent.stdin.write(b"still there?\n")
        parent.stdin.flush()
        assert readline_within(parent.stdout, 30) == b"parent still here\n"
        parent.stdin.close()  # the parent ends
        assert readline_within(parent.stdout, 30) == b"parent ended\n"
    finally:
        parent.kill()
        parent.wait()
