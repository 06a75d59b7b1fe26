"""Cleanup registered *before* a resource is created, run last-in-first-out on pass, fail and
Ctrl-C (pytest runs fixture finalizers on KeyboardInterrupt). `E2E_KEEP=1` keeps everything and
says what was kept."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("e2e.cleanup")


@dataclass
class _Action:
    description: str
    action: Callable[[], object]


class CleanupError(AssertionError):
    pass


class Cleanup:
    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self._actions: list[_Action] = []
        self.kept: list[str] = []

    def register(self, description: str, action: Callable[[], object]) -> None:
        self._actions.append(_Action(description, action))

    def __len__(self) -> int:
        return len(self._actions)

    def run(self) -> None:
        """Run every action (newest first), even if some fail; then report all failures."""
        errors: list[str] = []
        while self._actions:
            item = self._actions.pop()
            if self.keep:
                log.warning("E2E_KEEP: keeping %s", item.description)
                self.kept.append(item.description)
                continue
            try:
                item.action()
            except BaseException as exc:
                log.error("cleanup of %s failed: %r", item.description, exc)
                errors.append(f"{item.description}: {type(exc).__name__}: {exc}")
                if isinstance(exc, KeyboardInterrupt):
                    raise
        if errors:
            raise CleanupError("cleanup failed:\n" + "\n".join(errors))
