"""Run one stack in this process until SIGINT/SIGTERM: shared by `serve` and the fork server."""

from __future__ import annotations

import faulthandler
import signal
import sys
import threading
from collections.abc import Callable, Mapping


def run_stack(
    env: Mapping[str, str],
    announce: Callable[[dict[str, str]], None],
    *,
    with_platform: bool = True,
) -> int:
    """Start the stack configured by `env`, `announce` its URLs, serve until a stop signal,
    then stop every part. Exit code 2 for a bad configuration (said on stderr)."""
    from reference.config import StackConfig
    from reference.stack import Stack

    try:
        config = StackConfig.from_env(dict(env))
    except ValueError as exc:
        print(f"reference: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    # `kill -USR1 <pid>` writes every thread's stack to stderr: how a hang gets diagnosed.
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    stack = Stack(config, with_platform=with_platform)
    try:
        stack.start()
        announce(stack.describe())
        while not stop.wait(1.0):
            pass
    finally:
        stack.stop()
    return 0
