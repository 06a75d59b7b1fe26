"""Template resolution and config-file collection, on the tenant side as in the product.

Names follow workspace-server: `resolve_workspace_template_path` (resolveWorkspaceTemplatePath),
`collect_cp_config_files` (provisioner/cp_provisioner.go collectCPConfigFiles),
`is_cp_template_asset_path` (IsCPTemplateAssetPath). Only template-owned paths (`config.yaml`,
`prompts/**`) travel, as base64 of their raw bytes, at most 256 KiB in total (no per-file cap).
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reference import faults

MAX_CONFIG_FILES_BYTES = 256 * 1024  # cpConfigFilesMaxBytes = 256 << 10


class TemplateError(ValueError):
    """A template that cannot be used; the message names template, file and size."""


def is_safe_relpath(relpath: str) -> bool:
    """A relative POSIX path with no empty, `.` or `..` segment, no backslash, NUL or drive."""
    if not relpath or "\x00" in relpath or "\\" in relpath:
        return False
    if relpath.startswith("/") or (len(relpath) > 1 and relpath[1] == ":"):
        return False
    return all(part not in ("", ".", "..") for part in relpath.split("/"))


def is_cp_template_asset_path(relpath: str) -> bool:
    """True for template-owned paths: `config.yaml` and anything under `prompts/`."""
    if not is_safe_relpath(relpath):
        return False
    return relpath == "config.yaml" or (relpath.startswith("prompts/") and relpath != "prompts/")


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_workspace_template_path(name: str, roots: Sequence[Path]) -> Path | None:
    """The template's directory inside one of `roots` (first match), None when unknown.

    Raises TemplateError for a name that escapes its root: absolute, `..`, or a directory (or
    a symlinked parent) whose real location is outside the root.
    """
    if not name or name.startswith("/") or "\\" in name or not is_safe_relpath(name):
        raise TemplateError(f"template {name!r}: invalid template path")
    for root in roots:
        candidate = Path(root) / name
        if not os.path.lexists(candidate):
            continue
        real_root = Path(os.path.realpath(root))
        real = Path(os.path.realpath(candidate))
        if not _within(real, real_root):
            raise TemplateError(
                f"template {name!r}: {candidate} resolves to {real}, outside the template "
                f"root {real_root} (symlink out of the root)"
            )
        return real if real.is_dir() else None
    return None


@dataclass
class CollectedFiles:
    """What `collect_cp_config_files` kept (raw bytes), and what it skipped and why."""

    files: dict[str, bytes] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(len(data) for data in self.files.values())

    def wire(self) -> dict[str, str]:
        """The `config_files` map of the provision request: relpath → base64 of the bytes."""
        return {rel: base64.b64encode(data).decode("ascii") for rel, data in self.files.items()}


def collect_cp_config_files(
    template_dir: Path, template: str, active_faults: frozenset[str] = frozenset()
) -> CollectedFiles:
    """Walk `template_dir` and return its template-owned files, byte for byte.

    Symlinks (to files or directories) are skipped, never followed; the running total of raw
    bytes may not exceed 256 KiB (`config files exceed 262144 bytes`). `no-allowlist` and
    `drop-prompts` are the product faults that live here.
    """
    allowlist = not faults.is_on(active_faults, faults.NO_ALLOWLIST)
    include_prompts = not faults.is_on(active_faults, faults.DROP_PROMPTS)
    root = Path(template_dir)
    if root.is_symlink():
        raise TemplateError("collectCPConfigFiles: template path must not be a symlink")
    result = CollectedFiles()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for dirname in sorted(dirnames):
            if (here / dirname).is_symlink():
                result.skipped[(here / dirname).relative_to(root).as_posix() + "/"] = "symlink"
        dirnames[:] = sorted(d for d in dirnames if not (here / d).is_symlink())
        for filename in sorted(filenames):
            path = here / filename
            relpath = path.relative_to(root).as_posix()
            if allowlist and not is_cp_template_asset_path(relpath):
                result.skipped[relpath] = "not template-owned"
                continue
            if not include_prompts and relpath.startswith("prompts/"):
                result.skipped[relpath] = "prompts dropped (fault drop-prompts)"
                continue
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                result.skipped[relpath] = "symlink" if stat.S_ISLNK(info.st_mode) else "special"
                continue
            data = path.read_bytes()
            total += len(data)
            if total > MAX_CONFIG_FILES_BYTES:
                raise TemplateError(
                    f"collect config files: template {template!r}: config files exceed "
                    f"{MAX_CONFIG_FILES_BYTES} bytes (at {relpath!r}, {len(data)} bytes)"
                )
            result.files[relpath] = data
    return result


# -- config.yaml facts the tenant reads (workspace.go's line scanner, template_plugins.go) ----


def runtime_and_model(config_yaml: str) -> tuple[str, str]:
    """Top-level `runtime:` and `model:` (or `model:` under `runtime_config:`), scanned line by
    line exactly as the product's create handler does (workspace.go): the runtime verbatim
    after trimming whitespace, the model with quotes trimmed too; any line that is not indented
    (a blank one included) ends the `runtime_config:` block."""
    runtime = model = ""
    in_runtime_config = False
    for raw in config_yaml.split("\n"):
        trimmed = raw.lstrip(" \t")
        indented = len(raw) > len(trimmed)
        if not indented:
            in_runtime_config = trimmed.startswith("runtime_config:")
        stripped = raw.strip()
        if (
            not runtime
            and not indented
            and stripped.startswith("runtime:")
            and not stripped.startswith("runtime_config")
        ):
            runtime = stripped[len("runtime:") :].strip()
        elif not model and stripped.startswith("model:") and (not indented or in_runtime_config):
            model = stripped[len("model:") :].strip().strip("\"'")
        if runtime and model:
            break
    return runtime, model


def read_config(template_dir: Path | None) -> str:
    if template_dir is None:
        return ""
    try:
        return (template_dir / "config.yaml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
