"""The product's answers as its source writes them (/work/shared/PRODUCT-API.md and the notes
checked against enteros-core at f9f718f9), written out as literal JSON. Keys are the product's;
values are illustrative. The API tests compare the reference's answers with these key sets, and
the harness's models must parse every one of them.
"""

from __future__ import annotations

from typing import Any

WS_ID = "0b6f4a1e-3c2d-4e5f-8a9b-1c2d3e4f5a6b"
CARD = {"name": "seo-agent", "role": "SEO strategist"}

CREATED = {
    "id": WS_ID,
    "status": "provisioning",
    "workspace_access": "none",
    "auth_token": "wst-3f1d0c9b",
}

# GET /workspaces items: scanWorkspaceRow (workspace.go:1151-1203)
LIST_ROW = {
    "id": WS_ID, "name": "seo-delivery-e2e", "tier": 4, "status": "online",
    "url": "http://10.0.12.34:8000", "parent_id": None, "kind": "workspace", "active_tasks": 0,
    "max_concurrent_tasks": 1, "last_error_rate": 0, "last_sample_error": "",
    "uptime_seconds": 42, "current_task": "", "runtime": "claude-code", "workspace_dir": None,
    "monthly_spend": 0, "x": 0, "y": 0, "collapsed": False, "broadcast_enabled": False,
    "talk_to_user_enabled": False, "compute": {"data_persistence": "persist"},
    "budget_limit": None, "role": None, "agent_card": CARD,
}  # fmt: skip
# GET /workspaces/:id: the same row minus five fields, plus last_outbound_at (:1340-1344)
ONE_ROW_DROPS = ("budget_limit", "monthly_spend", "current_task", "last_sample_error",
                 "workspace_dir")  # fmt: skip
ONE_ROW = {
    **{k: v for k, v in LIST_ROW.items() if k not in ONE_ROW_DROPS},
    "last_outbound_at": None,
}
NEVER_IN_A_ROW = ("instance_id", "generation", "restart_pending", "template", "created_at",
                  "updated_at")  # fmt: skip

RESTARTED = {"status": "provisioning", "config_dir": "existing-volume", "reset_session": False}
PLUGIN_INSTALLED = {"status": "installed", "plugin": "seo-all", "source": "local://seo-all"}
REMOVED = {"status": "removed", "cascade_deleted": 0}
TEMPLATE_IMPORTED = {"status": "imported", "id": "my-template", "name": "My Template"}
TEMPLATE_SUMMARY = {
    "id": "seo-agent", "name": "seo-agent", "description": "Audits sites", "tier": 4,
    "runtime": "claude-code", "model": "moonshot/kimi-k2.6", "skills": ["site-audit"],
    "skill_count": 1,
}  # fmt: skip
# every key templateSummary may have (templates.go:154-236)
TEMPLATE_SUMMARY_KEYS = {
    "id", "name", "description", "tier", "runtime", "model", "models", "required_env",
    "recommended_env", "providers", "provider_registry", "registry_backed",
    "registry_providers", "registry_models", "skills", "skill_count",
    "provision_timeout_seconds", "displayable",
}  # fmt: skip
FILE_ENTRIES = [
    {"path": "config.yaml", "size": 1873, "dir": False},
    {"path": "prompts", "size": 0, "dir": True},
    {"path": ".auth_token", "size": 44, "dir": False},
]
FILE_CONTENT = {"path": "config.yaml", "content": "name: seo-agent\n", "size": 16}
BUILD_INFO = {"git_sha": "dev"}
MODEL = {"model": "moonshot/kimi-k2.6", "source": "workspace_secrets"}
HEALTH = {"status": "ok"}


def event(kind: str, payload: dict[str, Any], created_at: str) -> dict[str, Any]:
    return {
        "id": "5d7f1c2e-9a0b-4c3d-8e1f-2a3b4c5d6e7f",
        "event_type": kind,
        "workspace_id": WS_ID,
        "payload": payload,
        "created_at": created_at,
    }


# GET /events/:id items (events.go:59-97); created_at is Go's RFC 3339 of a Postgres timestamp:
# microseconds at most, trailing zeros trimmed, none at all on a whole second.
EVENTS = [
    event("WORKSPACE_PROVISIONING", {"name": "seo", "tier": 4, "runtime": "claude-code"},
          "2026-06-19T10:11:12.123456Z"),
    event("WORKSPACE_ONLINE", {"url": "http://10.0.12.34:8000", "agent_card": CARD,
                               "delivery_mode": "push"}, "2026-06-19T10:11:13.5Z"),
    event("WORKSPACE_ONLINE", {}, "2026-06-19T10:11:14Z"),
    event("WORKSPACE_ONLINE", {"recovered_from": "provisioning"}, "2026-06-19T10:11:15.1+00:00"),
    event("WORKSPACE_OFFLINE", {}, "2026-06-19T10:14:15.000001Z"),
    event("WORKSPACE_PROVISION_FAILED", {"error": "provisioning failed"},
          "2026-06-19T10:15:00.25Z"),
    event("WORKSPACE_REMOVED", {"cascade_deleted": 0}, "2026-06-19T10:16:00.75Z"),
    event("workspace.delete.terminate_retry_exhausted",
          {"workspace_id": WS_ID, "attempts": 3, "last_error": "boom",
           "recovery_path": "cp_orphan_sweeper"}, "2026-06-19T10:16:01.5Z"),
]  # fmt: skip
EVENT_KEYS = {"id", "event_type", "workspace_id", "payload", "created_at"}

# Payload keys of the lifecycle events a reference box can cause.
PAYLOAD_KEYS = {
    "WORKSPACE_PROVISIONING": {"name", "tier", "runtime"},
    "WORKSPACE_ONLINE": {"url", "agent_card", "delivery_mode"},
    "WORKSPACE_OFFLINE": set(),
    "WORKSPACE_PROVISION_FAILED": {"error"},
}
