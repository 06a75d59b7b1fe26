"""DESIGN §4 on one box, bracketed by two identical observations of the box's identity.

The invariant, after every (re)provision:
- `/configs/config.yaml` and `/configs/prompts/**` are byte-identical to the template, and no
  other template-owned file exists;
- user/agent files (`CLAUDE.md`, `MEMORY.md`, `.claude/**` in /configs, all of /workspace) are
  byte-identical to what they were before the restart: same set, same bytes;
- installed plugins are present under `/configs/plugins/<name>/`.

A verification reads hashes (two paged manifests), decides, and only on a difference fetches
the few whole files needed to show the first differing lines. If the box changed identity while
it was read (a restart slipped in), the reading proves nothing and the new box is verified
instead, a bounded number of times.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from e2e.harness import report
from e2e.harness.compare import (
    Difference,
    capped_diff,
    compare,
    first_differing_lines,
    template_headline,
    user_headline,
)
from e2e.harness.files import FileReadError, read_file
from e2e.harness.identity import BoxIdentity
from e2e.harness.manifest import Manifest, ManifestError, manifest_of_bytes, read_manifest
from e2e.harness.ssm import SsmError, SsmHost
from e2e.harness.waits import WaitTimeout
from e2e.harness.workspace import Workspace

log = logging.getLogger("e2e.verify")

CONFIGS = "/configs"
WORKSPACE = "/workspace"
USER_CONFIG_FILES = ("CLAUDE.md", "MEMORY.md")
MAX_DIFF_FILES = 4  # whole files fetched per verification, only to explain a difference
MAX_DIFF_BYTES = 256 * 1024


def is_template_owned(rel: str) -> bool:
    """DESIGN §4: `config.yaml` and `prompts/**` — nothing else travels in config_files."""
    return rel == "config.yaml" or rel.startswith("prompts/")


def is_user_config(rel: str) -> bool:
    return rel in USER_CONFIG_FILES or rel.startswith(".claude/")


# -- expectations ---------------------------------------------------------------------------


@dataclass
class TemplateFixture:
    """The template as imported (all files) and its template-owned part (the expected bytes)."""

    files: dict[str, bytes]

    @classmethod
    def from_dir(cls, directory: Path) -> TemplateFixture:
        files = {
            p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }
        return cls(files)

    def import_payload(self) -> dict[str, str]:
        return {rel: data.decode("utf-8") for rel, data in self.files.items()}

    @property
    def owned(self) -> dict[str, bytes]:
        return {rel: data for rel, data in self.files.items() if is_template_owned(rel)}

    def manifest(self) -> Manifest:
        return manifest_of_bytes(CONFIGS, self.owned)

    def declared_plugins(self) -> list[str]:
        """`plugins:` of config.yaml — what the platform's reconcile will install."""
        try:
            data = yaml.safe_load(self.files.get("config.yaml", b"").decode("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError):
            return []
        plugins = data.get("plugins") if isinstance(data, dict) else None
        return [str(p) for p in plugins] if isinstance(plugins, list) else []


@dataclass
class Expected:
    template: TemplateFixture
    user: Manifest | None = None  # absolute paths; None: not checked yet (before seeding)
    user_contents: dict[str, bytes] = field(default_factory=dict)  # what we wrote, by abs path
    plugins: dict[str, Manifest | None] = field(default_factory=dict)  # None: presence only


# -- reading a box --------------------------------------------------------------------------


@dataclass
class BoxReading:
    identity: BoxIdentity
    configs: Manifest
    workspace: Manifest

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


def read_box(ws: Workspace, identity: BoxIdentity) -> BoxReading:
    """Both manifests, read concurrently (two independent SSM commands)."""
    host = ws.host(identity.instance_id)
    host.wait_online()
    with ThreadPoolExecutor(2) as pool:
        configs = pool.submit(read_manifest, host, CONFIGS)
        workspace = pool.submit(read_manifest, host, WORKSPACE)
        return BoxReading(identity, configs.result(), workspace.result())


# -- deciding -------------------------------------------------------------------------------


@dataclass
class Finding:
    section: str
    headline: str
    details: list[str]


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
            f"DESIGN §4 violated {self.label} on box {self.identity} of workspace {workspace}:"
        ]
        for finding in self.findings:
            lines.append(f"  {finding.section}: {finding.headline}")
            lines.extend(f"    {d}".replace("\n", "\n    ") for d in finding.details)
        return "\n".join(lines)


class VerificationFailed(AssertionError):
    def __init__(self, verification: Verification, message: str) -> None:
        super().__init__(message)
        self.verification = verification


Fetch = Callable[[str], bytes | None]


def _explain(
    diffs: list[Difference],
    expected_bytes: Mapping[str, bytes],
    fetch: Fetch,
    label_of: Callable[[str], str],
    budget: list[int],
    out: dict[str, str],
) -> list[str]:
    """Describe each difference; for changed text files with known expected bytes, fetch the
    actual file (on demand, a few per verification) and show the first differing lines."""
    details = []
    for diff in diffs:
        text = diff.describe()
        want = expected_bytes.get(diff.path)
        if (
            diff.kind == "changed"
            and want is not None
            and budget[0] > 0
            and diff.actual
            and diff.actual.type == "file"
            and diff.actual.size <= MAX_DIFF_BYTES
        ):
            budget[0] -= 1
            try:
                got = fetch(label_of(diff.path))
            except (SsmError, FileReadError) as exc:
                got = None
                text += f"\n    (could not fetch the actual file: {exc})"
            if got is not None:
                text += "\n" + first_differing_lines(want, got)
                out[diff.path] = capped_diff(want, got, diff.path)
        details.append(text)
    return details


def decide(
    label: str,
    reading: BoxReading,
    expected: Expected,
    installed: list[str],
    fetch: Fetch,
) -> Verification:
    """Compare one reading with the expectations; fetch whole files only to explain."""
    findings: list[Finding] = []
    diffs_out: dict[str, str] = {}
    budget = [MAX_DIFF_FILES]
    checked = 0

    if not reading.configs.root_exists:
        findings.append(Finding("template", f"{CONFIGS} does not exist on the box", []))
    want_template = expected.template.manifest()
    got_template = reading.template_part()
    checked += len(want_template)
    template_diffs = compare(want_template, got_template)
    if template_diffs:
        findings.append(
            Finding(
                "template",
                template_headline(template_diffs, want_template),
                _explain(
                    template_diffs,
                    expected.template.owned,
                    fetch,
                    lambda rel: posixpath.join(CONFIGS, rel),
                    budget,
                    diffs_out,
                ),
            )
        )

    if expected.user is not None:
        got_user = reading.user_part()
        checked += len(expected.user)
        user_diffs = compare(expected.user, got_user)
        if user_diffs:
            findings.append(
                Finding(
                    "user/agent",
                    user_headline(user_diffs),
                    _explain(
                        user_diffs, expected.user_contents, fetch, lambda p: p, budget, diffs_out
                    ),
                )
            )

    for name in sorted(set(expected.plugins) | set(installed)):
        want_plugin = expected.plugins.get(name)
        got_plugin = reading.plugin_part(name)
        if not got_plugin.entries:
            where = f"{CONFIGS}/plugins/{name}/"
            findings.append(
                Finding(
                    "plugins", f"plugin {name} is installed but {where} is empty or missing", []
                )
            )
            continue
        if want_plugin is None:
            checked += len(got_plugin)
            continue
        checked += len(want_plugin)
        plugin_diffs = compare(want_plugin, got_plugin)
        if plugin_diffs:
            findings.append(
                Finding(
                    "plugins",
                    f"plugin {name} differs from its source under {got_plugin.root}",
                    [d.describe() for d in plugin_diffs],
                )
            )
    return Verification(label, reading.identity, reading, findings, checked, diffs_out)


# -- bracketing -----------------------------------------------------------------------------

# WaitTimeout: e.g. PingStatus never Online again because the box was replaced meanwhile; the
# identity check after the reading tells a replaced box (verify the new one) from a stuck one
_READ_ERRORS = (SsmError, ManifestError, FileReadError, WaitTimeout)


def _fetcher(host: SsmHost) -> Fetch:
    return lambda path: read_file(host, path)


def verify_box(ws: Workspace, expected: Expected, label: str, *, attempts: int = 3) -> Verification:
    """Verify the current box; only a reading bracketed by two equal identities counts."""
    seen: list[str] = []
    for attempt in range(1, attempts + 1):
        before = ws.current_stable_identity(f"stable box to verify {label}")
        try:
            with ThreadPoolExecutor(1) as pool:
                plugins = pool.submit(ws.platform.plugins, ws.id)
                reading = read_box(ws, before)
                installed = [str(p.get("name")) for p in plugins.result()]
            verification = decide(
                label, reading, expected, installed, _fetcher(ws.host(before.instance_id))
            )
            error: Exception | None = None
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
        log.info(
            "%s: box changed during verification %s (%s); verifying the new box",
            ws.name,
            label,
            seen[-1],
        )
    raise AssertionError(
        f"{ws.name}: could not verify {label}: the box changed during each of {attempts} "
        "readings:\n  " + "\n  ".join(seen) + "\n" + ws.describe_for_timeout()
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
        report.attach_timeline("event timeline", ws.events())
    except Exception as exc:  # evidence is best-effort; the failure itself must surface
        log.warning("could not attach the timeline: %r", exc)
