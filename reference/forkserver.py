"""`python -m reference forkserver`: import the stack once, then fork a warm stack per request.

Why: starting a stack costs ~3.3 s of CPU in imports (moto, FastAPI, boto3) plus first-use
costs (service models, moto's lazily imported EC2 helpers). A test session on 2 cores that
starts a dozen stacks spent about a third of its CPU there. A forked child inherits all of it.

Protocol, JSON lines. Stdout's first line: `{"ready": true, "pid": N}`. Requests come one per
connection on the Unix socket `--listen-fd N` (bound and listening before the server starts, so
no client races it), which lets every pytest-xdist worker share the one server their controller
started. A request
`{"id": str, "set": {NAME: value}, "unset": [NAME], "stdout": path, "stderr": path,
"timeout_s": s}` gets one answer line `{"id", "pid", "announce": {...}}` (the object
`serve --json` prints) or `{"id", "error", "pid"?}`. Each stack runs in its own session
(pgid = pid), with the server's environment changed as asked, its output in the given files,
until SIGTERM/SIGINT.

No stack outlives the server: end of stdin (the harness closed it) or the end of the process
that started it ends the server, and each stack stops, boxes included, once the server has
ended (`run_stack` watches its parent, like `serve`). The server stays single-threaded, so
forking it is safe; it reaps its children on SIGCHLD.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reference.procs import watch_parent

REQUEST_READ_S = 10.0  # a connected client sends its one line at once
DEFAULT_REGION = "us-east-1"
# reference.aws first: it memoizes the region lookups moto makes while it imports. moto imports
# autoscaling and elbv2 lazily on the first TerminateInstances (~0.5 s of CPU).
WARM_IMPORTS = (
    "reference.aws",
    "moto.autoscaling",
    "moto.elbv2",
    "uvicorn",
    "reference.platform.app",
)


def prepare() -> None:
    """Everything a stack would otherwise load on first use, done once before any fork."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    for module in WARM_IMPORTS:
        importlib.import_module(module)
    from reference.aws.server import build_moto_app, warm
    from reference.common.aws_clients import warm_models
    from reference.stack import reset_moto

    warm(build_moto_app(), DEFAULT_REGION)
    reset_moto()
    warm_models(("ec2", "secretsmanager", "ssm"), DEFAULT_REGION)
    _warm_platform()


def _warm_platform() -> None:
    """Build a platform app and throw it away: FastAPI's route set-up imports pydantic.v1 and
    builds its validators, uvicorn imports its protocol and loop modules, anyio its asyncio
    backend — ~0.45 s of CPU each forked stack would otherwise pay again."""
    import anyio
    import uvicorn

    from reference.config import StackConfig
    from reference.platform.app import build_app

    with tempfile.TemporaryDirectory(prefix="forkserver-warm-") as scratch:
        app = build_app(StackConfig(state_dir=Path(scratch)))
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        config.load()
        config.get_loop_factory()  # imports the event loop module uvicorn will pick
        app.state.cp.close()
        app.state.store.close()
    # the app's lifespan asks anyio for its thread limiter: that loads anyio's asyncio backend
    anyio.run(anyio.sleep, 0)


def _reap(_signum: int, _frame: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _redirect(fd: int, path: str | None, flags: int) -> None:
    target = os.open(path or os.devnull, flags, 0o644)
    os.dup2(target, fd)
    os.close(target)


def _child(
    request: Mapping[str, Any], announce_fd: int, server_pid: int, server_fds: Sequence[int]
) -> int:
    """In the forked child: become the stack the request asked for."""
    for fd in server_fds:  # the listening socket and the request's connection are not ours
        with contextlib.suppress(OSError):
            os.close(fd)
    os.setsid()
    gc.enable()  # the server's heap stays frozen: collections here scan only the stack's own
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if os.getppid() != server_pid:  # the server ended already: no stack is wanted
        return 1
    _redirect(0, None, os.O_RDONLY)
    _redirect(1, request.get("stdout"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    _redirect(2, request.get("stderr"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for name in request.get("unset", ()):
        os.environ.pop(str(name), None)
    os.environ.update({str(k): str(v) for k, v in dict(request.get("set", {})).items()})

    from reference.runner import run_stack

    def announce(info: dict[str, str]) -> None:
        os.write(announce_fd, (json.dumps(info) + "\n").encode())
        os.close(announce_fd)

    return run_stack(os.environ, announce, parent_pid=server_pid)


def _read_announce(read_fd: int, timeout_s: float) -> bytes:
    """The child's announcement, or b"" if it ended or stayed silent until the deadline."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            break
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        data += chunk
    return data


def spawn(request: Mapping[str, Any], server_fds: Sequence[int] = ()) -> dict[str, Any]:
    """Fork one stack and wait for its announcement (or its end, or the deadline)."""
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    server_pid = os.getpid()
    pid = os.fork()
    if pid == 0:  # child: never return into the server's loop
        code = 1
        try:
            os.close(read_fd)
            code = _child(request, write_fd, server_pid, server_fds)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_fd)
    try:
        line = _read_announce(read_fd, float(request.get("timeout_s", 60)))
    finally:
        os.close(read_fd)
    answer: dict[str, Any] = {"id": request.get("id"), "pid": pid}
    try:
        answer["announce"] = json.loads(line)
    except ValueError:
        answer["error"] = (
            f"stack {pid} said {line[:200]!r} instead of announcing itself"
            if line.strip()
            else f"stack {pid} ended or stayed silent without announcing itself"
        )
    return answer


def answer_to(raw: bytes, server_fds: Sequence[int] = ()) -> dict[str, Any]:
    """The answer to one request line; a bad request gets an answer, never ends the server."""
    try:
        request = json.loads(raw)
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object")
        return spawn(request, server_fds)
    except Exception as exc:
        return {"id": None, "error": f"{type(exc).__name__}: {exc}"}


def _serve_socket(listener: socket.socket, parent_fd: int | None) -> None:
    """One request per connection, one at a time; end of stdin, or of the process that started
    the server (`parent_fd` readable), ends the loop."""
    stdin_fd = sys.stdin.fileno()
    own_fds = [listener.fileno()] + ([] if parent_fd is None else [parent_fd])  # not a stack's
    while True:
        ready, _, _ = select.select([stdin_fd, *own_fds], [], [])
        if parent_fd is not None and parent_fd in ready:
            return
        if stdin_fd in ready and not os.read(stdin_fd, 4096):
            return
        if listener.fileno() not in ready:
            continue
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(REQUEST_READ_S)
            try:
                raw = conn.makefile("rb").readline()
            except OSError:
                continue  # a client that never finished its request: next one
            answer = answer_to(raw, (*own_fds, conn.fileno()))
            with contextlib.suppress(OSError):  # a client that gave up waiting
                conn.sendall((json.dumps(answer) + "\n").encode())


def main(listen_fd: int, parent_pid: int) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness stops us by closing stdin
    parent_fd = watch_parent(parent_pid)  # before the imports: it may end while they run
    # No collections while importing (~0.4 s of a 2.5 s start-up), and none of the warm heap
    # afterwards: frozen, its ~400k objects are never scanned again by a forked stack's
    # collections, nor copied on write by them (the fork server pattern of the gc docs).
    gc.disable()
    prepare()
    gc.freeze()
    signal.signal(signal.SIGCHLD, _reap)
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    _serve_socket(socket.socket(fileno=listen_fd), parent_fd)
    # Nothing here needs finalizing, and tearing down the warmed modules takes ~1.4 s that
    # the harness would wait for at the end of every run.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
