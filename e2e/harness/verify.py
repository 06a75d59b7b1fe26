"""The invariant on one box, bracketed by two identical observations of the box's identity.

After every (re)provision:
- `/configs/config.yaml` and `/configs/prompts/**` are byte-identical to the template, and no
  other template-owned file exists;
- user/agent files (`CLAUDE.md`, `MEMORY.md`, `.claude/**` in /configs, all of /workspace)
  keep the bytes they had before the restart, the installed plugins' own effects aside
  (effects.py);
- installed plugins are present under `/configs/plugins/<name>/`.

A verification reads hashes (two manifests), decides, and fetches whole files only to explain a
difference or to check a plugin effect. If the box changed identity while it was read (a
restart slipped in), the reading proves nothing and the new box is verified instead, a bounded
number of times.
"""

from __future__ import annotations

import logging
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from e2e.harness import report
from e2e.harness.compare import compare
from e2e.harness.decide import Finding, decide
from e2e.harness.files import FileReadError
from e2e.harness.fixture import CONFIGS, WORKSPACE, Expected, is_template_owned, is_user_config
from e2e.harness.identity import BoxIdentity
from e2e.harness.manifest import Manifest, ManifestError
from e2e.harness.platform import PlatformError
from e2e.harness.readers import BoxReader, FilesApiReader, SsmReader
from e2e.harness.settle import current_stable_identity
from e2e.harness.ssm import SsmError
from e2e.harness.waits import WaitTimeout
from e2e.harness.workspace import Workspace

log = logging.getLogger("e2e.verify")


@dataclass
class BoxReading:
    identity: BoxIdentity
    configs: Manifest
    workspace: Manifest
    reader: BoxReader | None = field(default=None, repr=False)

    def template_part(self) -> Manifest:
        return self.configs.select(predicate=is_template_owned)

    def user_part(self) -> Manifest:
        entries = {
            posixpath.join(CONFIGS, rel): e
            for rel, e in self.configs.entries.items()
            if is_user_config(rel)
        }
        entries |= {posixpath.join(WORKSPACE, rel): e for rel, e in self.workspace.entries.items()}
        return Manifest("user/agent files", entries)

    def plugin_part(self, name: str) -> Manifest:
        prefix = f"plugins/{name}/"
        entries = {
            rel[len(prefix) :]: e
            for rel, e in self.configs.entries.items()
            if rel.startswith(prefix)
        }
        return Manifest(posixpath.join(CONFIGS, prefix), entries)


def readers_for(ws: Workspace, identity: BoxIdentity) -> list[BoxReader]:
    ssm = SsmReader(ws.host(identity.instance_id))
    files = FilesApiReader(ws.platform, ws.id)
    channel = ws.settings.box_channel
    chosen: list[BoxReader] = [ssm] if channel == "ssm" else [files] if channel == "files" else []
    return chosen or [ssm, files]


def read_with(reader: BoxReader, identity: BoxIdentity) -> BoxReading:
    """Both manifests, read concurrently (two independent requests)."""
    with ThreadPoolExecutor(2) as pool:
        configs = pool.submit(reader.manifest, CONFIGS)
        workspace = pool.submit(reader.manifest, WORKSPACE)
        return BoxReading(identity, configs.result(), workspace.result(), reader)


def read_box(ws: Workspace, identity: BoxIdentity) -> list[BoxReading]:
    ws.host(identity.instance_id).wait_online()
    return [read_with(reader, identity) for reader in readers_for(ws, identity)]


def channel_findings(readings: list[BoxReading]) -> list[Finding]:
    """`both`: the two channels must agree on every file; a disagreement is its own finding."""
    if len(readings) < 2:
        return []
    first, second = readings
    details = []
    for root, a, b in (
        (CONFIGS, first.configs, second.configs),
        (WORKSPACE, first.workspace, second.workspace),
    ):
        details += [f"{root}/{d.describe()}" for d in compare(a, b)]
    if not details:
        return []
    headline = (
        f"the {first.reader.channel if first.reader else '?'} and files-API readings disagree"
    )
    return [Finding("channels", headline, details)]


@dataclass
class Verification:
    label: str
    identity: BoxIdentity
    reading: BoxReading
    findings: list[Finding]
    files_checked: int
    diffs: dict[str, str] = field(default_factory=dict)  # path → capped diff, for attachments

    @property
    def ok(self) -> bool:
        return not self.findings

    def message(self, workspace: str) -> str:
        lines = [
            f"invariant violated {self.label} on box {self.identity} of workspace {workspace}:"
        ]
        for finding in self.findings:
            lines.append(f"  {finding.section}: {finding.headline}")
            lines.extend(f"    {d}".replace("\n", "\n    ") for d in finding.details)
        return "\n".join(lines)


class VerificationFailed(AssertionError):
    def __init__(self, verification: Verification, message: str) -> None:
        super().__init__(message)
        self.verification = verification


# WaitTimeout: e.g. PingStatus never Online again because the box was replaced meanwhile; the
# identity check after the reading tells a replaced box (verify the new one) from a stuck one
_READ_ERRORS = (SsmError, ManifestError, FileReadError, WaitTimeout, PlatformError)


def verify_box(ws: Workspace, expected: Expected, label: str, *, attempts: int = 3) -> Verification:
    """Verify the current box; only a reading bracketed by two equal identities counts."""
    seen: list[str] = []
    for attempt in range(1, attempts + 1):
        before = current_stable_identity(ws, f"stable box to verify {label}")
        error: Exception | None = None
        try:
            readings = read_box(ws, before)
            primary = readings[0]
            found = decide(label, primary, expected, primary.reader)  # type: ignore[arg-type]
            verification = Verification(
                label,
                before,
                primary,
                found.findings + channel_findings(readings),
                found.files_checked,
                found.diffs,
            )
        except _READ_ERRORS as exc:
            error = exc
        after = ws.observe()
        if after.stable and after.identity == before:
            if error is not None:
                raise error
            _record(ws, verification, expected)
            if not verification.ok:
                raise VerificationFailed(verification, verification.message(ws.name))
            return verification
        seen.append(f"attempt {attempt}: {before} → {after.describe()}")
        log.info("%s: box changed during verification %s (%s)", ws.name, label, seen[-1])
    raise AssertionError(
        f"{ws.name}: could not verify {label}: the box changed during each of {attempts} "
        "readings:\n  " + "\n  ".join(seen)
    )


def _record(ws: Workspace, verification: Verification, expected: Expected) -> None:
    """Stats for the summary; attachments (always the manifests, on failure the evidence)."""
    ws.stats.verifications += 1
    ws.stats.files_checked += verification.files_checked
    reading = verification.reading
    title = f"{verification.label} — {verification.identity}"
    report.attach_text(f"actual manifest {CONFIGS} ({title})", reading.configs.render())
    report.attach_text(f"actual manifest {WORKSPACE} ({title})", reading.workspace.render())
    if verification.ok:
        return
    report.attach_text("expected template manifest", expected.template.manifest().render())
    if expected.user is not None:
        report.attach_text("expected user/agent manifest", expected.user.render())
    for path, diff in verification.diffs.items():
        report.attach_text(f"diff {path}", diff)
    report.attach_text("recent SSM outputs", "\n\n".join(c.describe() for c in ws.commands[-10:]))
    try:
        report.attach_timeline("event timeline", ws.events.refresh())
    except Exception as exc:  # evidence is best-effort; the failure itself must surface
        log.warning("could not attach the timeline: %r", exc)
