"""Start reference stacks ahead of need, one at a time, in the background.

A stack takes seconds to start (imports, moto warm-up) and a test then mostly waits on boxes.
So while one test runs, the stack the next test needs is already starting. Stacks are keyed by
their REFERENCE_* environment; one nobody takes is stopped when the pool closes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from e2e.harness.settings import RunSettings
from e2e.targets.session import StackHandle, new_forkserver, start_embedded

log = logging.getLogger("e2e.pool")

Key = tuple[tuple[str, str], ...]


def key_of(env: Mapping[str, str]) -> Key:
    return tuple(sorted(env.items()))


class StackPool:
    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self._starting: dict[Key, Future[StackHandle]] = {}
        self._shared: set[Key] = set()  # taken for the whole session: never start another
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="stack-prefetch")
        self.forkserver = new_forkserver(settings)  # started by the first stack it forks

    def prefetch(self, env: Mapping[str, str], label: str) -> None:
        """Begin starting a stack with `env` unless one is already on its way."""
        key = key_of(env)
        if key not in self._starting and key not in self._shared:
            log.info("prefetching %s %s", label, dict(env))
            self._starting[key] = self._executor.submit(self._start, env, label)

    def take(self, env: Mapping[str, str], label: str, *, shared: bool = False) -> StackHandle:
        """The prefetched stack for `env` (waiting for it if still starting), else a new one.
        `shared`: the caller keeps it for the session, so `env` is never prefetched again."""
        if shared:
            self._shared.add(key_of(env))
        future = self._starting.pop(key_of(env), None)
        if future is None:
            return self._start(env, label)
        return future.result()

    def _start(self, env: Mapping[str, str], label: str) -> StackHandle:
        return start_embedded(self.settings, env, label, forkserver=self.forkserver)

    def close(self) -> None:
        """Stop every stack started but never taken."""
        for future in self._starting.values():
            try:
                future.result().close()
            except Exception as exc:  # a failed prefetch matters only if someone takes it
                log.warning("an untaken prefetched stack failed: %r", exc)
        self._starting.clear()
        self._executor.shutdown(wait=True)
        if self.forkserver is not None:
            self.forkserver.close()
