"""The product's JSON shapes of a workspace row (handlers/workspace.go scanWorkspaceRow).

`GET /workspaces` answers the full row; `GET /workspaces/:id` drops `budget_limit`,
`monthly_spend`, `current_task`, `last_sample_error` and `workspace_dir` and adds
`last_outbound_at`. Neither carries an instance id, a template or timestamps.
"""

from __future__ import annotations

from typing import Any

from reference.platform.store import Workspace

ONE_ONLY_DROPPED = ("budget_limit", "monthly_spend", "current_task", "last_sample_error")


def list_row(ws: Workspace) -> dict[str, Any]:
    return {
        "id": ws.id,
        "name": ws.name,
        "tier": ws.tier,
        "status": ws.status,
        "url": ws.url,
        "parent_id": ws.parent_id,
        "kind": "workspace",
        "active_tasks": 0,
        "max_concurrent_tasks": 1,
        "last_error_rate": 0,
        "last_sample_error": ws.last_sample_error,
        "uptime_seconds": 0,
        "current_task": "",
        "runtime": ws.runtime,
        "workspace_dir": None,
        "monthly_spend": 0,
        "x": 0,
        "y": 0,
        "collapsed": False,
        "broadcast_enabled": False,
        "talk_to_user_enabled": False,
        "compute": ws.compute or {},
        "budget_limit": None,
        "role": ws.role or None,
        "agent_card": ws.agent_card,
    }


def one_row(ws: Workspace) -> dict[str, Any]:
    row = {k: v for k, v in list_row(ws).items() if k not in ONE_ONLY_DROPPED}
    row.pop("workspace_dir")
    row["last_outbound_at"] = None
    return row
