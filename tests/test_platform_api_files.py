"""The product's files API on a real reference stack (handlers/templates.go): a second way to
read a box. Paths relative to root+path, directories flagged with size 0; a file read answers
content and byte size; the product's refusals for a bad root, path or depth."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from support.tenant_api import Tenant
from support.tenant_templates import PLAIN

pytest_plugins = ["support.stack_fixtures"]


@pytest.fixture(scope="module")
def box(tenant: Tenant) -> Iterator[str]:
    """One online workspace from the `plain` template, read by every test here."""
    ws_id = tenant.create("files")["id"]
    tenant.wait_status(ws_id, "online")
    yield ws_id
    tenant.delete(ws_id)


def listing(api: Tenant, ws_id: str, **params: object) -> dict[str, tuple[int, bool]]:
    entries = api.ok("GET", f"/workspaces/{ws_id}/files", params=params)
    return {e["path"]: (e["size"], e["dir"]) for e in entries}


def test_configs_lists_relative_paths_with_directories_flagged(tenant: Tenant, box: str) -> None:
    top = listing(tenant, box)
    assert top["config.yaml"] == (len(PLAIN["config.yaml"].encode()), False)
    assert top["prompts"] == (0, True)
    assert ".auth_token" in top  # dotfiles are listed, as the product lists them
    assert not [p for p in top if "/" in p]  # depth 1
    deep = listing(tenant, box, path="prompts", depth=2)
    assert deep == {
        "system.md": (len(PLAIN["prompts/system.md"].encode()), False),
        "deep": (0, True),
        "deep/a.md": (len(PLAIN["prompts/deep/a.md"].encode()), False),
    }
    assert listing(tenant, box, path="no-such-dir") == {}


def test_a_file_reads_as_its_text_and_byte_size(tenant: Tenant, box: str) -> None:
    for path in ("config.yaml", "prompts/deep/a.md"):
        answer = tenant.ok("GET", f"/workspaces/{box}/files/{path}")
        expected = PLAIN[path]
        assert answer == {"path": path, "content": expected, "size": len(expected.encode())}


def test_a_missing_file_is_404(tenant: Tenant, box: str) -> None:
    answer = tenant.call("GET", f"/workspaces/{box}/files/prompts/none.md")
    assert (answer.status_code, answer.json()) == (404, {"error": "file not found on workspace"})


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {"root": "/etc"},
            "root must be one of: /configs, /workspace, /home, /plugins, /agent-home",
        ),
        (
            {"root": "configs"},
            "root must be one of: /configs, /workspace, /home, /plugins, /agent-home",
        ),
        ({"path": "../etc"}, "invalid path"),
        ({"path": "prompts/..x"}, "invalid path"),
        ({"path": "/etc"}, "invalid path"),
        ({"path": "."}, "invalid path"),
        ({"depth": 0}, "depth must be 1-5"),
        ({"depth": 6}, "depth must be 1-5"),
    ],
)
def test_a_bad_root_path_or_depth_is_400(
    tenant: Tenant, box: str, params: dict[str, object], error: str
) -> None:
    answer = tenant.call("GET", f"/workspaces/{box}/files", params=params)
    assert (answer.status_code, answer.json()) == (400, {"error": error})


def test_a_bad_read_path_or_root_is_400_and_an_unknown_workspace_404(
    tenant: Tenant, box: str
) -> None:
    dots = tenant.call("GET", f"/workspaces/{box}/files/prompts/..secret")
    assert (dots.status_code, dots.json()) == (400, {"error": "invalid path"})
    root = tenant.call("GET", f"/workspaces/{box}/files/config.yaml", params={"root": "/"})
    assert root.status_code == 400
    unknown = tenant.call("GET", f"/workspaces/{uuid.uuid4()}/files")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "workspace not found"})
