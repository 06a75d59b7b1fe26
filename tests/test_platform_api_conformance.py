"""Every answer of a real reference stack that the harness reads fits the harness's model of
the product (e2e/harness/product.py) AND has exactly the product's keys
(support/product_samples.py): the reference cannot drift from the product unnoticed."""

from __future__ import annotations

import uuid
from typing import Any

from support import product_samples as s
from support.tenant_api import Tenant

from e2e.harness import product
from e2e.harness.product import parse, parse_list

pytest_plugins = ["support.stack_fixtures"]


def same_keys(answer: Any, sample: dict[str, Any], call: str) -> None:
    assert isinstance(answer, dict), f"{call}: {answer!r}"
    assert set(answer) == set(sample), f"{call}: keys {sorted(answer)} vs {sorted(sample)}"


def test_create_get_list_model_and_buildinfo_answer_in_the_products_shapes(api: Tenant) -> None:
    created = api.create("conformance", compute={"data_persistence": "persist"})
    parse(product.Created, created, "POST /workspaces")
    same_keys(created, s.CREATED, "POST /workspaces")
    assert (created["status"], created["workspace_access"]) == ("provisioning", "none")
    ws_id = created["id"]
    assert str(uuid.UUID(ws_id)) == ws_id

    row = api.wait_status(ws_id, "online")
    parse(product.WorkspaceRow, row, "GET /workspaces/:id")
    same_keys(row, s.ONE_ROW, "GET /workspaces/:id")
    assert not set(s.NEVER_IN_A_ROW) & set(row)
    assert (row["tier"], row["runtime"], row["name"]) == (4, "claude-code", "conformance")
    assert row["compute"] == {"data_persistence": "persist"}
    assert isinstance(row["agent_card"], dict) and row["url"]

    items = api.ok("GET", "/workspaces")
    rows = parse_list(product.WorkspaceRow, items, "GET /workspaces")
    mine = next(item for item in items if item["id"] == ws_id)
    same_keys(mine, s.LIST_ROW, "GET /workspaces")
    assert mine["last_sample_error"] == "" and not set(s.NEVER_IN_A_ROW) & set(mine)
    assert {r.id for r in rows} >= {ws_id, api.root_id}

    model = api.ok("GET", f"/workspaces/{ws_id}/model")
    parse(product.ModelAnswer, model, "GET /workspaces/:id/model")
    assert model == {"model": "claude-sonnet-4-5", "source": "workspace_secrets"}

    info = api.ok("GET", "/buildinfo")
    parse(product.BuildInfo, info, "GET /buildinfo")
    same_keys(info, s.BUILD_INFO, "GET /buildinfo")
    assert info["git_sha"]


def test_events_restart_files_and_delete_answer_in_the_products_shapes(api: Tenant) -> None:
    ws_id = api.create("conformance-2")["id"]
    api.settled(ws_id, 1)
    events = api.events(ws_id)
    parse_list(product.Event, events, "GET /events/:id")
    for event in events:
        same_keys(event, s.EVENTS[0], "GET /events/:id item")
        assert set(event["payload"]) == s.PAYLOAD_KEYS[event["event_type"]], event
        assert str(uuid.UUID(event["id"])) == event["id"] and event["workspace_id"] == ws_id

    restarted = api.ok("POST", f"/workspaces/{ws_id}/restart")
    parse(product.Restarted, restarted, "POST /workspaces/:id/restart")
    same_keys(restarted, s.RESTARTED, "POST /workspaces/:id/restart")
    api.settled(ws_id, 2)

    entries = api.ok("GET", f"/workspaces/{ws_id}/files")
    parse_list(product.FileEntry, entries, "GET /workspaces/:id/files")
    for entry in entries:
        same_keys(entry, s.FILE_ENTRIES[0], "GET /workspaces/:id/files item")
    content = api.ok("GET", f"/workspaces/{ws_id}/files/config.yaml")
    parse(product.FileContent, content, "GET /workspaces/:id/files/config.yaml")
    same_keys(content, s.FILE_CONTENT, "GET /workspaces/:id/files/<path>")

    removed = api.delete(ws_id).json()
    parse(product.Removed, removed, "DELETE /workspaces/:id")
    same_keys(removed, s.REMOVED, "DELETE /workspaces/:id")


def test_template_import_and_listing_answer_in_the_products_shapes(api: Tenant) -> None:
    name = f"Conformance {uuid.uuid4().hex[:8]}"
    files = {"config.yaml": "name: conf\nruntime: hermes\nmodel: m\nskills:\n  - a\n"}
    imported = api.ok("POST", "/templates/import", 201, json={"name": name, "files": files})
    parse(product.TemplateImported, imported, "POST /templates/import")
    same_keys(imported, s.TEMPLATE_IMPORTED, "POST /templates/import")
    assert imported["name"] == name and imported["id"] == name.lower().replace(" ", "-")
    listed = api.ok("GET", "/templates")
    parse_list(product.TemplateSummary, listed, "GET /templates")
    for item in listed:
        assert {"id", "name", "runtime"} <= set(item) <= s.TEMPLATE_SUMMARY_KEYS, item
    mine = next(item for item in listed if item["id"] == imported["id"])
    assert (mine["name"], mine["runtime"], mine["tier"], mine["skill_count"]) == (
        "conf",
        "hermes",
        4,
        1,
    )
