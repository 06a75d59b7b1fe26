"""Bad requests get a clear error and provision nothing: no credentials, no tenant header,
templates with traversal, symlinks out of the template root, or files over the limits."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from e2e.harness.gate import GateContext, GateResult, import_template, provision
from e2e.harness.gate import verify as verify_step
from e2e.harness.manifest import read_manifest
from e2e.harness.session import StackHandle
from e2e.harness.settings import TEMPLATE_FIXTURE, RunSettings
from e2e.harness.verify import TemplateFixture

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


def refused(answer: httpx.Response, status: tuple[int, ...], *words: str) -> str:
    text = answer.text
    assert answer.status_code in status, f"expected {status}, got {answer.status_code}: {text}"
    for word in words:
        assert word in text, f"the error should say {word!r}: {text}"
    return text


def test_no_token_and_wrong_token_are_401(stack: StackHandle) -> None:
    for token in (None, "wrong-token-0000000000"):
        with stack.client(token=token) as client:
            for method, path in (("GET", "/templates"), ("POST", "/workspaces")):
                answer = client.request(method, path, json={"name": "x", "template": "y"})
                refused(answer, (401, 403))


def test_missing_org_header_hides_the_tenant(stack: StackHandle) -> None:
    with stack.client(org=None) as client:
        refused(client.request("GET", "/templates"), (404,))
        refused(client.request("POST", "/workspaces", json={"name": "x", "template": "y"}), (404,))
    with stack.client(org="00000000-0000-0000-0000-000000000000") as client:
        refused(client.request("GET", "/templates"), (404,))
    with stack.client(org=None) as client:
        assert client.request("GET", "/health").status_code == 200  # exempt, per DESIGN §3


@pytest.mark.usefixtures("nothing_provisioned")
@pytest.mark.parametrize("bad_path", ["../escape.md", "prompts/../../escape.md", "/etc/cron.d/x"])
def test_import_with_traversal_is_refused(gate_ctx: GateContext, bad_path: str) -> None:
    name = gate_ctx.name("traversal")
    files = {"config.yaml": "name: x\n", bad_path: "escaped\n"}
    answer = gate_ctx.platform.request(
        "POST", "/templates/import", json={"name": name, "files": files}
    )
    refused(answer, (400, 422), bad_path)
    assert name not in {t.get("name") for t in gate_ctx.platform.templates()}


@pytest.mark.usefixtures("nothing_provisioned")
@pytest.mark.parametrize("template", ["../../etc", "/etc", "seo-agent/../../.."])
def test_workspace_from_a_traversing_template_name_is_refused(
    gate_ctx: GateContext, template: str
) -> None:
    answer = gate_ctx.platform.request(
        "POST", "/workspaces", json={"name": gate_ctx.name("bad-template"), "template": template}
    )
    refused(answer, (400, 404, 422), template)


@pytest.mark.usefixtures("nothing_provisioned")
def test_file_over_the_per_file_limit_is_refused_naming_file_and_size(
    gate_ctx: GateContext,
) -> None:
    size = 256 * KIB + 1
    files = {"config.yaml": "name: big\n", "prompts/huge.md": "x" * size}
    answer = gate_ctx.platform.request(
        "POST", "/templates/import", json={"name": gate_ctx.name("huge"), "files": files}
    )
    refused(answer, (400, 413, 422), "prompts/huge.md", str(size))


@pytest.mark.usefixtures("nothing_provisioned")
def test_template_set_over_the_secret_limit_provisions_nothing(gate_ctx: GateContext) -> None:
    """Each file is fine, together they exceed 64 KiB: refused before anything is created."""
    fixture = TemplateFixture.from_dir(gate_ctx.template_dir)
    for n in range(3):
        fixture.files[f"prompts/bulk-{n}.md"] = b"y" * (30 * KIB)
    template = import_template(gate_ctx, fixture)
    name = gate_ctx.name("oversized")
    answer = gate_ctx.platform.request(
        "POST", "/workspaces", json={"name": name, "template": template}
    )
    text = refused(answer, (400, 413, 422), template)
    assert "bytes" in text and ("65536" in text or "64" in text), text


@pytest.mark.reference_only
def test_symlinks_never_carry_files_from_outside_the_template(
    own_stack: Callable[..., GateContext], tmp_path: Path
) -> None:
    """A template dir symlinked out of its root is refused, creating nothing; a symlinked file
    inside a template is skipped (DESIGN §5), so its target never reaches the box. Needs a
    template root we control: a stack of our own with REFERENCE_TEMPLATE_ROOTS."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "prompts").mkdir(parents=True)
    (outside / "config.yaml").write_text("name: outside\n")
    (outside / "prompts" / "system.md").write_text("escaped\n")
    secret = outside / "host-secret.txt"
    secret.write_text("host secret that must never reach a box\n")
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    linked = root / "linked-prompt"
    for rel, data in fixture.files.items():
        (linked / rel).parent.mkdir(parents=True, exist_ok=True)
        (linked / rel).write_bytes(data)
    os.symlink(secret, linked / "prompts" / "leak.md")
    os.symlink(outside, root / "escape")
    ctx = own_stack({"REFERENCE_TEMPLATE_ROOTS": str(root)}, label="stack-symlinks")
    before = aws_footprint(ctx.stack)
    answer = ctx.platform.request(
        "POST", "/workspaces", json={"name": ctx.name("symlink"), "template": "escape"}
    )
    refused(answer, (400, 403, 422), "escape", "symlink")
    assert aws_footprint(ctx.stack) == before, "a refused request provisioned something"

    ws, expected = provision(ctx, "linked-prompt", fixture, template="linked-prompt")
    verify_step(ws, expected, "with a symlinked prompt in the template", GateResult(ws))
    configs = read_manifest(ws.host(ws.current_stable_identity("box").instance_id), "/configs")
    assert "prompts/leak.md" not in configs, configs.render()
