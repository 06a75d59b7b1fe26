"""The template-delivery gate as one reusable function, so the gate test and the proofs that it
fails on product faults run exactly the same steps.

import template (run-unique) → create workspace (persisting data) → online → the reconcile's
restart settled → verify → seed user/agent files → install plugin (its automatic restart, or
its recognised drop) → verify → manual restart → verify → N more restarts, each verified.
Each verification is bracketed (verify.verify_box), so a restart may fire early, late or never
without changing the outcome.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from e2e.harness import report, settle, triggers
from e2e.harness.aws import AwsClients
from e2e.harness.cleanup import Cleanup
from e2e.harness.files import write_files
from e2e.harness.fixture import CONFIGS, WORKSPACE, Expected, TemplateFixture
from e2e.harness.manifest import ManifestError
from e2e.harness.names import unique_name
from e2e.harness.platform import PlatformClient
from e2e.harness.readers import SsmReader
from e2e.harness.settings import RunSettings
from e2e.harness.ssm import SsmError
from e2e.harness.templates import check_caps
from e2e.harness.verify import Verification, VerificationFailed, read_with, verify_box
from e2e.harness.workspace import Workspace, WorkspaceStats

log = logging.getLogger("e2e.gate")


@dataclass
class GateContext:
    """What a gate run needs: clients for one target, the run's settings, its cleanup."""

    platform: PlatformClient
    aws: AwsClients
    settings: RunSettings
    cleanup: Cleanup
    workspaces: list[Workspace] = field(default_factory=list)
    stack: Any = None  # the StackHandle when the test started its own stack

    def name(self, purpose: str) -> str:
        return unique_name(self.settings.run_id, self.settings.worker_id, purpose)

    def fixture(self) -> TemplateFixture:
        return TemplateFixture.from_dir(self.settings.template_dir)

    def workspace_stats(self) -> list[WorkspaceStats]:
        return [ws.close_stats() for ws in self.workspaces]


@dataclass
class GateResult:
    workspace: Workspace
    verifications: list[Verification] = field(default_factory=list)
    install_restarted: bool = True


def import_template(ctx: GateContext, fixture: TemplateFixture, purpose: str = "tpl") -> str:
    """Import the fixture under a run-unique name (templates have no DELETE: names say whose);
    the template's id (its directory) is what a workspace is created from."""
    name = ctx.name(purpose)
    with report.step(f"import template {name}"):
        return ctx.platform.import_template(name, fixture.import_payload()).id


def user_files(run_tag: str) -> dict[str, bytes]:
    """Run-unique user/agent files: nested, non-ASCII, a space, one above the SSM page size,
    and the two files plugins may add to (CLAUDE.md, .claude/settings.json)."""
    token = secrets.token_hex(8)
    big = "".join(f"{run_tag} line {n:05d} {token}\n" for n in range(500)).encode()
    local = {"run": run_tag, "token": token, "permissions": {"allow": ["Bash(ls:*)"]}}
    shared = {"model": "user-choice", "permissions": {"deny": ["Bash(rm:*)"]}, "token": token}
    return {
        f"{CONFIGS}/CLAUDE.md": f"# My own CLAUDE.md ({run_tag})\n\nBe brief. {token}\n".encode(),
        f"{CONFIGS}/MEMORY.md": f"# Memory\n- British spelling ({run_tag} {token})\n".encode(),
        f"{CONFIGS}/.claude/settings.local.json": (json.dumps(local) + "\n").encode(),
        f"{CONFIGS}/.claude/settings.json": (json.dumps(shared, indent=1) + "\n").encode(),
        f"{WORKSPACE}/README.md": f"Workspace of {run_tag}: café ☕ {token}\n".encode(),
        f"{WORKSPACE}/notes/meeting notes.md": f"- ship the audit ({token})\n".encode(),
        f"{WORKSPACE}/src/audit/report.py": f"print('report for {run_tag}')  # {token}\n".encode(),
        f"{WORKSPACE}/data/crawl.log": big,
    }


def seed_and_snapshot(
    ws: Workspace, expected: Expected, files: dict[str, bytes], *, attempts: int = 3
) -> None:
    """Write the user files, then read them back from a box bracketed by one identity.

    A restart racing the writes is harmless: the writes are idempotent and we simply write
    again to the new box, accepting only a read-back that one unchanged box produced.
    """
    with report.step(f"seed {len(files)} user/agent files over SSM"):
        for attempt in range(1, attempts + 1):
            before = settle.current_stable_identity(ws, "stable box to seed")
            host = ws.host(before.instance_id)
            try:
                write_files(host, "/", {path.lstrip("/"): data for path, data in files.items()})
                reading = read_with(SsmReader(host), before)
            except (SsmError, ManifestError) as exc:
                if ws.observe().identity == before:
                    raise
                log.info("%s: box changed while seeding (%s); again", ws.name, exc)
                continue
            after = ws.observe()
            if after.identity != before or not after.stable:
                log.info("%s: box changed while seeding (attempt %d); again", ws.name, attempt)
                continue
            snapshot = reading.user_part()
            wrong = [
                p
                for p, data in files.items()
                if p not in snapshot or snapshot.entries[p].sha256 != _sha(data)
            ]
            if wrong:
                raise AssertionError(
                    f"{ws.name}: seeded files did not read back identically on {before}: {wrong}"
                )
            expected.user = snapshot
            expected.user_contents = dict(files)
            report.attach_text("user/agent snapshot", snapshot.render())
            return
        raise AssertionError(f"{ws.name}: the box kept changing while seeding ({attempts} tries)")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(ws: Workspace, expected: Expected, label: str, result: GateResult) -> Verification:
    with report.step(f"verify the invariant {label}"):
        verification = verify_box(ws, expected, label)
    result.verifications.append(verification)
    if expected.user is not None:
        expected.user = verification.reading.user_part()  # "before the next restart"
    return verification


def provision(
    ctx: GateContext,
    purpose: str = "gate",
    fixture: TemplateFixture | None = None,
    *,
    template: str | None = None,
) -> tuple[Workspace, Expected]:
    """Import the template (unless `template` names one the platform already has), create the
    workspace, wait until online and the reconcile's restart settled."""
    fixture = fixture or ctx.fixture()
    check_caps(fixture)
    template = template or import_template(ctx, fixture)
    ws = Workspace.create(
        ctx.platform, ctx.aws, ctx.settings, ctx.cleanup, ctx.name(purpose), template
    )
    ctx.workspaces.append(ws)
    started = time.monotonic()
    settle.wait_stable(ws, "online after create", ctx.settings.profile.online_s)
    ws.stats.time("first online", time.monotonic() - started)
    declared = fixture.declared_plugins()
    settle.wait_reconciled(ws, declared)
    expected = Expected(template=fixture)
    for name in declared:
        expected.expect_plugin(name, byte_exact=not ctx.settings.is_staging)
    return ws, expected


def run_gate(
    ctx: GateContext,
    restarts: int | None = None,
    *,
    purpose: str = "gate",
    fixture: TemplateFixture | None = None,
) -> GateResult:
    """The whole gate. Raises VerificationFailed (or a wait's error) naming what broke."""
    settings = ctx.settings
    restarts = settings.restarts if restarts is None else restarts
    started = time.monotonic()
    ws, expected = provision(ctx, purpose, fixture)
    result = GateResult(ws)
    try:
        verify(ws, expected, "after first provision", result)
        seed_and_snapshot(ws, expected, user_files(f"{settings.run_id}-{settings.worker_id}"))
        _, result.install_restarted = triggers.install_plugin(
            ws, settings.plugin_source, settings.plugin_name
        )
        expected.expect_plugin(
            settings.plugin_name,
            byte_exact=not settings.is_staging and settings.plugin_source.startswith("local://"),
        )
        verify(ws, expected, "after plugin install", result)
        ws.stats.restarts_verified += int(result.install_restarted)
        for n in range(restarts + 1):
            triggers.restart(ws)
            verify(ws, expected, f"after manual restart {n + 1}", result)
            ws.stats.restarts_verified += 1
    finally:
        ws.stats.time("gate", time.monotonic() - started)
        try:
            report.attach_timeline(f"event timeline {ws.name}", ws.events.refresh())
        except Exception as exc:  # evidence only
            log.warning("timeline unavailable: %r", exc)
    return result


__all__ = [
    "GateContext",
    "GateResult",
    "VerificationFailed",
    "provision",
    "run_gate",
    "seed_and_snapshot",
    "verify",
]
