"""product.py: every answer the harness reads parses as the product writes it (samples as
literal JSON, from PRODUCT-API.md), extra fields are allowed, and a missing field is API drift
naming the call and the key — not a timeout on a field that never comes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from e2e.harness import product
from e2e.harness.product import ApiDrift, parse, parse_list

# `GET /workspaces/:id` — the row (no instance_id, no generation, no pending flag)
WORKSPACE_ROW = """{
  "id": "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d",
  "name": "e2e-0619-main-gate-1 (2)",
  "tier": 2,
  "status": "online",
  "url": "https://ws-7d3b2c1a.tenant.example",
  "parent_id": null,
  "kind": "workspace",
  "runtime": "claude-code",
  "workspace_dir": null,
  "last_sample_error": "",
  "agent_card": {"name": "seo-agent", "skills": [{"id": "site-audit"}]},
  "compute": {"data_persistence": "persist"},
  "budget_limit": null,
  "last_outbound_at": null
}"""

# an item of `GET /events/:workspaceId`: Go's RFC 3339 with nanoseconds
EVENT_ONLINE = """{
  "id": "5b0e9a8c-3f1d-4c2b-8a7e-6d5c4b3a2f10",
  "event_type": "WORKSPACE_ONLINE",
  "workspace_id": "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d",
  "payload": {
    "url": "https://ws-7d3b2c1a.tenant.example",
    "agent_card": {"name": "seo-agent"},
    "delivery_mode": "push"
  },
  "created_at": "2026-06-19T10:00:00.123456789Z"
}"""

EVENT_PROVISIONING = """{
  "id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
  "event_type": "WORKSPACE_PROVISIONING",
  "workspace_id": "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d",
  "payload": {"name": "e2e-0619-main-gate-1", "tier": 2, "runtime": "claude-code"},
  "created_at": "2026-06-19T09:59:58.5+02:00"
}"""

EVENT_FAILED = """{
  "id": "9f8e7d6c-5b4a-4392-8180-7f6e5d4c3b2a",
  "event_type": "WORKSPACE_PROVISION_FAILED",
  "workspace_id": "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d",
  "payload": {"error": "provisioning failed"},
  "created_at": "2026-06-19T10:00:00Z"
}"""

CREATED = """{
  "id": "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d",
  "status": "provisioning",
  "workspace_access": "private",
  "auth_token": "wst_0123456789abcdef"
}"""

RESTARTED = '{"status": "provisioning", "config_dir": "/configs", "reset_session": false}'
PLUGIN_INSTALLED = '{"status": "installed", "plugin": "seo-all", "source": "local://seo-all"}'
REMOVED = '{"status": "removed", "cascade_deleted": 0}'
TEMPLATE_IMPORTED = '{"status": "imported", "id": "e2e-0619-main-tpl-1", "name": "seo-agent"}'
TEMPLATES = """[
  {"id": "seo-agent", "name": "seo-agent", "runtime": "claude-code"},
  {"id": "hermes", "name": "Hermes"}
]"""
FILE_ENTRIES = """[
  {"path": "config.yaml", "size": 692, "dir": false},
  {"path": "prompts", "size": 0, "dir": true},
  {"path": "prompts/Übersicht café.md", "size": 53, "dir": false}
]"""
FILE_CONTENT = (
    '{"path": "prompts/system.md", "content": "# System\\r\\nBe exact.\\r\\n", "size": 22}'
)
# workspace-server/internal/router/router.go: c.JSON(200, gin.H{"git_sha": buildinfo.GitSHA})
BUILDINFO = '{"git_sha": "f9f718f95abd"}'
MODEL = '{"model": "", "source": "unresolved"}'


def test_a_workspace_row_parses_and_keeps_the_fields_the_model_does_not_name() -> None:
    row = parse(product.WorkspaceRow, json.loads(WORKSPACE_ROW), "GET /workspaces/:id")
    assert (row.name, row.status, row.tier, row.runtime) == (
        "e2e-0619-main-gate-1 (2)",
        "online",
        2,
        "claude-code",
    )
    assert row.agent_card == {"name": "seo-agent", "skills": [{"id": "site-audit"}]}
    assert row.model_extra is not None and row.model_extra["last_sample_error"] == ""


def test_an_event_with_go_nanoseconds_parses_to_an_aware_datetime() -> None:
    event = parse(product.Event, json.loads(EVENT_ONLINE), "GET /events/:id")
    assert event.event_type == "WORKSPACE_ONLINE"
    assert event.payload == {
        "url": "https://ws-7d3b2c1a.tenant.example",
        "agent_card": {"name": "seo-agent"},
        "delivery_mode": "push",
    }
    # the nanoseconds are cut to Python's microseconds, never rejected
    assert event.created_at == datetime(2026, 6, 19, 10, 0, 0, 123456, tzinfo=UTC)


def test_events_with_offsets_compare_by_instant() -> None:
    events = parse_list(
        product.Event,
        [json.loads(EVENT_ONLINE), json.loads(EVENT_PROVISIONING), json.loads(EVENT_FAILED)],
        "GET /events/:id",
    )
    online, provisioning, failed = events
    assert provisioning.created_at < failed.created_at < online.created_at  # 07:59:58.5Z first
    assert failed.payload == {"error": "provisioning failed"}


@pytest.mark.parametrize(
    ("model", "sample", "call", "check"),
    [
        (product.Created, CREATED, "POST /workspaces", ("auth_token", "wst_0123456789abcdef")),
        (product.Restarted, RESTARTED, "POST /workspaces/:id/restart", ("status", "provisioning")),
        (
            product.PluginInstalled,
            PLUGIN_INSTALLED,
            "POST /workspaces/:id/plugins",
            ("plugin", "seo-all"),
        ),
        (product.Removed, REMOVED, "DELETE /workspaces/:id", ("cascade_deleted", 0)),
        (
            product.TemplateImported,
            TEMPLATE_IMPORTED,
            "POST /templates/import",
            ("id", "e2e-0619-main-tpl-1"),
        ),
        (product.FileContent, FILE_CONTENT, "GET /workspaces/:id/files/<path>", ("size", 22)),
        (product.BuildInfo, BUILDINFO, "GET /buildinfo", ("git_sha", "f9f718f95abd")),
        (product.ModelAnswer, MODEL, "GET /workspaces/:id/model", ("source", "unresolved")),
    ],
)
def test_every_documented_answer_parses(
    model: type[product._Answer], sample: str, call: str, check: tuple[str, object]
) -> None:
    answer = parse(model, json.loads(sample), call)
    assert getattr(answer, check[0]) == check[1]


def test_file_content_keeps_crlf_and_lists_parse_item_by_item() -> None:
    content = parse(product.FileContent, json.loads(FILE_CONTENT), "GET …/files/<path>")
    assert content.content.encode() == b"# System\r\nBe exact.\r\n"
    entries = parse_list(product.FileEntry, json.loads(FILE_ENTRIES), "GET /workspaces/:id/files")
    assert [(e.path, e.size, e.dir) for e in entries] == [
        ("config.yaml", 692, False),
        ("prompts", 0, True),
        ("prompts/Übersicht café.md", 53, False),
    ]
    templates = parse_list(product.TemplateSummary, json.loads(TEMPLATES), "GET /templates")
    assert [t.id for t in templates] == ["seo-agent", "hermes"] and templates[1].runtime is None


def test_drift_names_the_call_and_the_missing_key_with_the_keys_it_got() -> None:
    item = json.loads(EVENT_ONLINE)
    item["type"] = item.pop("event_type")  # e.g. the SSE shape answered by mistake
    with pytest.raises(ApiDrift) as info:
        parse_list(product.Event, [json.loads(EVENT_PROVISIONING), item], "GET /events/:id")
    assert str(info.value) == (
        'API drift: GET /events/:id item lacks "event_type" '
        "(keys: ['created_at', 'id', 'payload', 'type', 'workspace_id'])"
    )


def test_drift_on_a_wrong_type_or_shape_names_the_field_or_the_shape() -> None:
    row = json.loads(WORKSPACE_ROW) | {"tier": "two"}
    with pytest.raises(ApiDrift, match=r"^API drift: GET /workspaces/:id answer tier: "):
        parse(product.WorkspaceRow, row, "GET /workspaces/:id")
    with pytest.raises(ApiDrift, match=r"GET /events/:id answer is not an array \(dict\)"):
        parse_list(product.Event, {"events": []}, "GET /events/:id")
    with pytest.raises(ApiDrift, match=r'POST /workspaces answer lacks "id" \(keys: '):
        parse(product.Created, {"status": "provisioning"}, "POST /workspaces")


def test_drift_is_an_assertion_so_pytest_reports_it_as_a_failure() -> None:
    assert issubclass(ApiDrift, AssertionError)
