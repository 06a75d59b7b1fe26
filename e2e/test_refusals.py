"""Bad requests get the product's answer (exact status, and the body's code or text) and
provision nothing: no credentials, no tenant header, a traversing template name, templates over
the product's cap, deletes without confirmation, symlinks out of a template root."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from e2e.harness import settle
from e2e.harness.events import FAILED, of_type
from e2e.harness.gate import GateContext, GateResult, import_template, provision
from e2e.harness.gate import verify as verify_step
from e2e.harness.manifest import read_manifest
from e2e.harness.settings import RunSettings
from e2e.harness.templates import CONFIG_FILES_CAP, TemplateTooLarge, check_caps
from e2e.harness.workspace import Workspace
from e2e.targets.session import StackHandle

KIB = 1024


def aws_footprint(stack: StackHandle) -> set[str]:
    """Everything a provision would leave in the account: instances, secrets, volumes."""
    found: set[str] = set()
    for reservation in stack.aws.ec2.describe_instances().get("Reservations", []):
        found |= {f"instance {i['InstanceId']}" for i in reservation.get("Instances", [])}
    for page in stack.aws.secretsmanager.get_paginator("list_secrets").paginate():
        found |= {f"secret {s['Name']}" for s in page.get("SecretList", [])}
    found |= {f"volume {v['VolumeId']}" for v in stack.aws.ec2.describe_volumes()["Volumes"]}
    return found


@pytest.fixture
def nothing_provisioned(stack: StackHandle, settings: RunSettings) -> Iterator[None]:
    """Asserts the test left no instance, secret or volume behind (embedded: our own account;
    elsewhere other tenants' activity makes an account diff meaningless, so it is skipped)."""
    before = aws_footprint(stack) if settings.target == "embedded" else set()
    yield
    if settings.target == "embedded":
        assert aws_footprint(stack) - before == set(), "a refused request provisioned something"


def answered(response: httpx.Response, status: int, **body: object) -> dict[str, object]:
    """The exact status, and these fields of the JSON body with exactly these values."""
    text = response.text
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {text}"
    data = response.json() if body else {}
    for key, value in body.items():
        assert data.get(key) == value, f"{key}: expected {value!r}, got {data.get(key)!r}: {text}"
    return data


def test_no_token_and_wrong_token_are_401(stack: StackHandle) -> None:
    with stack.client(token=None) as client:
        answered(client.request("GET", "/templates"), 401, error="admin auth required")
    with stack.client(token="wrong-token-0000000000") as client:
        answered(client.request("GET", "/templates"), 401, error="invalid admin auth token")
        body = {"name": "x", "template": "y"}
        answered(client.create_workspace_response(body), 401, error="invalid admin auth token")


def test_tenant_guard_answers_400_without_the_header_and_404_for_another_org(
    stack: StackHandle,
) -> None:
    with stack.client(org=None) as client:
        answered(client.request("GET", "/templates"), 400, code="TENANT_ORG_HEADER_REQUIRED")
        assert client.request("GET", "/health").status_code == 200  # exempt
    with stack.client(org="00000000-0000-0000-0000-000000000000") as client:
        response = client.request("GET", "/templates")
        answered(response, 404)
        assert response.content == b"", response.text


@pytest.mark.usefixtures("nothing_provisioned")
@pytest.mark.parametrize("bad_path", ["../escape.md", "prompts/../../escape.md", "/etc/cron.d/x"])
def test_import_with_traversal_is_refused(gate_ctx: GateContext, bad_path: str) -> None:
    name = gate_ctx.name("traversal")
    files = {"config.yaml": "name: x\nruntime: claude-code\n", bad_path: "escaped\n"}
    answered(
        gate_ctx.platform.import_template_response(name, files), 400, error="invalid request body"
    )
    assert name not in {t.id for t in gate_ctx.platform.templates()}


@pytest.mark.usefixtures("nothing_provisioned")
@pytest.mark.parametrize("template", ["../../etc", "/etc", "seo-agent/../../.."])
def test_workspace_from_a_traversing_template_name_is_refused(
    gate_ctx: GateContext, template: str
) -> None:
    body = {"name": gate_ctx.name("bad-template"), "template": template}
    answered(gate_ctx.platform.create_workspace_response(body), 400, error="invalid template")


@pytest.mark.usefixtures("nothing_provisioned")
def test_unknown_template_without_runtime_is_422_runtime_unresolved(gate_ctx: GateContext) -> None:
    body = {"name": gate_ctx.name("unknown-template"), "template": gate_ctx.name("no-such")}
    answered(gate_ctx.platform.create_workspace_response(body), 422, code="RUNTIME_UNRESOLVED")


def test_template_over_the_cap_is_named_by_the_harness_before_anything_is_made(
    gate_ctx: GateContext,
) -> None:
    fixture = gate_ctx.fixture()
    fixture.files["prompts/bulk.md"] = b"y" * (CONFIG_FILES_CAP + 1)
    with pytest.raises(TemplateTooLarge) as info:
        provision(gate_ctx, "oversized", fixture)
    size = sum(len(d) for d in fixture.owned.values())
    assert f"prompts/bulk.md ({CONFIG_FILES_CAP + 1} bytes)" in str(info.value)
    assert f"{size} bytes" in str(info.value)


@pytest.mark.usefixtures("nothing_provisioned")
def test_platform_fails_a_template_over_the_cap_asynchronously(gate_ctx: GateContext) -> None:
    """The product accepts the create (201) and then fails the workspace: status failed and
    WORKSPACE_PROVISION_FAILED {"error": "provisioning failed"}; the CP is never called."""
    fixture = gate_ctx.fixture()
    fixture.files["prompts/bulk.md"] = b"y" * (CONFIG_FILES_CAP + 1)
    with pytest.raises(TemplateTooLarge):
        check_caps(fixture)
    template = import_template(gate_ctx, fixture, "oversized")
    ws = Workspace.create(
        gate_ctx.platform,
        gate_ctx.aws,
        gate_ctx.settings,
        gate_ctx.cleanup,
        gate_ctx.name("oversized"),
        template,
    )
    with pytest.raises(AssertionError, match="provisioning failed"):
        settle.wait_stable(ws, "online (it must fail)")
    failures = of_type(ws.events.refresh(), FAILED)
    assert [f.payload for f in failures] == [{"error": "provisioning failed"}]


def test_delete_needs_the_name_as_confirmation_and_a_removed_workspace_is_410(
    gate_ctx: GateContext,
) -> None:
    ws, _ = provision(gate_ctx, "delete-confirm", gate_ctx.fixture().with_plugins([]))
    answered(
        gate_ctx.platform.delete_workspace_response(ws.id, None),
        400,
        error="destructive_action_requires_confirmation",
    )
    ws.delete()
    answered(gate_ctx.platform.request("GET", f"/workspaces/{ws.id}"), 410)
    answered(gate_ctx.platform.delete_workspace_response(ws.id, ws.name), 410)


@pytest.mark.reference_only
def test_symlinks_never_carry_files_from_outside_the_template(
    own_stack: Callable[..., GateContext], tmp_path: Path
) -> None:
    """A template dir symlinked out of its root is refused, creating nothing; a symlinked file
    inside a template is skipped, so its target never reaches the box. Needs a template root
    we control: a stack of our own with REFERENCE_TEMPLATE_ROOTS."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "prompts").mkdir(parents=True)
    (outside / "config.yaml").write_text("name: outside\nruntime: claude-code\nmodel: m\n")
    secret = outside / "host-secret.txt"
    secret.write_text("host secret that must never reach a box\n")
    ctx = own_stack({"REFERENCE_TEMPLATE_ROOTS": str(root)}, label="stack-symlinks")
    fixture = ctx.fixture()
    linked = root / "linked-prompt"
    for rel, data in fixture.files.items():
        (linked / rel).parent.mkdir(parents=True, exist_ok=True)
        (linked / rel).write_bytes(data)
    os.symlink(secret, linked / "prompts" / "leak.md")
    os.symlink(outside, root / "escape")
    before = aws_footprint(ctx.stack)
    body = {"name": ctx.name("symlink"), "template": "escape"}
    answered(ctx.platform.create_workspace_response(body), 400, error="invalid template")
    assert aws_footprint(ctx.stack) == before, "a refused request provisioned something"

    ws, expected = provision(ctx, "linked-prompt", fixture, template="linked-prompt")
    verify_step(ws, expected, "with a symlinked prompt in the template", GateResult(ws))
    box = settle.current_stable_identity(ws, "box")
    configs = read_manifest(ws.host(box.instance_id), "/configs")
    assert "prompts/leak.md" not in configs, configs.render()
