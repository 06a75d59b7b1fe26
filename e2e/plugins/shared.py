"""What the conftest and the plugins share (a plain module: pytest rewrites the plugins'
asserts only if it imports them first)."""

from __future__ import annotations

import json

import allure
import pytest

from e2e.harness.workspace import WorkspaceStats

SUMMARY_KEY = "e2e_workspaces"
# The next test this process will run (pytest and xdist know it): its stack can start early.
next_item: list[pytest.Item | None] = [None]


def stack_needed(item: pytest.Item | None) -> tuple[dict[str, str], str] | None:
    """(env, label) of the stack an e2e test will ask for, if any is known in advance."""
    if item is None:
        return None
    marker = item.get_closest_marker("stack_env")
    if marker is not None:
        return dict(marker.args[0]), str(marker.args[1] if len(marker.args) > 1 else "own-stack")
    if "stack" in getattr(item, "fixturenames", ()):
        return {}, "session-stack"
    return None


def record(request: pytest.FixtureRequest, stats: list[WorkspaceStats]) -> None:
    """Attach a test's workspace stats to its report (and notes/retries to Allure)."""
    if not stats:
        return
    request.node.user_properties.append((SUMMARY_KEY, json.dumps([vars(s) for s in stats])))
    for row in stats:
        if row.notes or row.retries_http or row.retries_aws:
            allure.attach(
                json.dumps(vars(row), indent=2),
                name=f"notes and retries {row.name}",
                attachment_type=allure.attachment_type.JSON,
            )
