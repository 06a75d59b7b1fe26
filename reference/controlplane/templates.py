"""Template resolution and config-file collection (DESIGN §5), with every guard.

Names follow the real platform: `resolve_workspace_template_path` (resolveWorkspaceTemplatePath),
`collect_cp_config_files` (collectCPConfigFiles), `is_cp_template_asset_path`
(IsCPTemplateAssetPath). Only template-owned paths (`config.yaml`, `prompts/**`) travel.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from reference.controlplane.errors import ProvisionRefused

MAX_FILE_BYTES = 256 * 1024
# Secrets Manager's SecretString limit; moto does not enforce it, so we do.
MAX_SECRET_BYTES = 64 * 1024
MAX_FILES = 200


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


def resolve_workspace_template_path(name: str, roots: Sequence[Path]) -> Path:
    """Map a template name to its directory inside one of `roots` (first match wins).

    Refuses absolute names, `..`, and a template directory (or a symlinked parent) whose real
    location leaves its root; a symlink that stays inside the root is followed.
    """
    if not name:
        raise ProvisionRefused("empty template path", status=422, template=name)
    if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
        raise ProvisionRefused(
            f"template {name!r}: absolute template paths are refused", template=name
        )
    if not is_safe_relpath(name):
        raise ProvisionRefused(
            f"template {name!r}: path traversal ('..', '.', empty segments) is refused",
            template=name,
        )
    for root in roots:
        candidate = Path(root) / name
        if not os.path.lexists(candidate):
            continue
        real_root = Path(os.path.realpath(root))
        real = Path(os.path.realpath(candidate))
        if not _within(real, real_root):
            raise ProvisionRefused(
                f"template {name!r}: {candidate} resolves to {real}, outside the template "
                f"root {real_root} (symlink out of the root)",
                template=name,
            )
        if not real.is_dir():
            raise ProvisionRefused(
                f"template {name!r}: {candidate} is not a directory", template=name
            )
        return real
    raise ProvisionRefused(
        f"template {name!r} not found in template roots {[str(r) for r in roots]}",
        status=404,
        template=name,
    )


@dataclass
class CollectedFiles:
    """What `collect_cp_config_files` kept, and what it skipped and why (for logs and tests)."""

    files: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(len(text.encode()) for text in self.files.values())


def secret_payload(files: dict[str, str]) -> str:
    """The SecretString the CP stores; its size is what the 64 KiB cap applies to."""
    return json.dumps({"config_files": files}, sort_keys=True, ensure_ascii=False)


def check_total(template: str, files: dict[str, str]) -> None:
    """Refuse a set whose secret would exceed Secrets Manager's limit, naming the largest files."""
    secret_bytes = len(secret_payload(files).encode())
    if secret_bytes <= MAX_SECRET_BYTES:
        return
    sizes = sorted(((len(t.encode()), p) for p, t in files.items()), reverse=True)
    largest = ", ".join(f"{p} ({n} bytes)" for n, p in sizes[:3])
    total = sum(n for n, _ in sizes)
    raise ProvisionRefused(
        f"template {template!r}: config files total {total} bytes in {len(files)} files "
        f"(secret {secret_bytes} bytes) exceed the {MAX_SECRET_BYTES}-byte Secrets Manager "
        f"limit; largest: {largest}",
        status=413,
        template=template,
        file=sizes[0][1] if sizes else None,
        size=secret_bytes,
    )


def check_file_count(template: str, count: int) -> None:
    if count > MAX_FILES:
        raise ProvisionRefused(
            f"template {template!r}: {count} config files exceed the limit of {MAX_FILES}",
            status=413,
            template=template,
            size=count,
        )


def decode_text(template: str, relpath: str, data: bytes) -> str:
    """Decode UTF-8 strictly; a non-UTF-8 file is refused with its byte offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProvisionRefused(
            f"template {template!r}: file {relpath!r} is not UTF-8 text "
            f"(invalid byte at offset {exc.start}, {len(data)} bytes)",
            template=template,
            file=relpath,
            size=len(data),
        ) from exc


def collect_cp_config_files(
    template_dir: Path,
    template: str,
    *,
    allowlist: bool = True,
    include_prompts: bool = True,
) -> CollectedFiles:
    """Walk `template_dir` and return its template-owned files as text.

    Symlinks (to files or directories, inside or outside the root) are skipped, never followed;
    a file over 256 KiB or a set over 64 KiB refuses the whole collection. `allowlist=False` and
    `include_prompts=False` exist only for the `no-allowlist` and `drop-prompts` faults.
    """
    root = Path(template_dir)
    result = CollectedFiles()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for dirname in sorted(dirnames):
            if (here / dirname).is_symlink():
                rel = (here / dirname).relative_to(root).as_posix()
                result.skipped[rel + "/"] = "symlinked directory"
        dirnames[:] = sorted(d for d in dirnames if not (here / d).is_symlink())
        for filename in sorted(filenames):
            path = here / filename
            relpath = PurePosixPath(path.relative_to(root).as_posix()).as_posix()
            if not is_safe_relpath(relpath):
                raise ProvisionRefused(
                    f"template {template!r}: file path {relpath!r} is not a safe relative path",
                    template=template,
                    file=relpath,
                )
            if allowlist and not is_cp_template_asset_path(relpath):
                result.skipped[relpath] = "not template-owned"
                continue
            if not include_prompts and relpath.startswith("prompts/"):
                result.skipped[relpath] = "prompts dropped (fault drop-prompts)"
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                result.skipped[relpath] = "symlink"
                continue
            if not stat.S_ISREG(info.st_mode):
                result.skipped[relpath] = "not a regular file"
                continue
            if info.st_size > MAX_FILE_BYTES:
                raise ProvisionRefused(
                    f"template {template!r}: file {relpath!r} is {info.st_size} bytes, over "
                    f"the {MAX_FILE_BYTES}-byte per-file limit",
                    status=413,
                    template=template,
                    file=relpath,
                    size=info.st_size,
                )
            result.files[relpath] = decode_text(template, relpath, path.read_bytes())
            check_file_count(template, len(result.files))
    check_total(template, result.files)
    return result


def validate_config_files(template: str, files: dict[str, str], *, allowlist: bool = True) -> None:
    """Guards for a `config_files` set handed to the CP directly (not collected by it)."""
    check_file_count(template, len(files))
    for relpath, text in files.items():
        if not is_safe_relpath(relpath):
            raise ProvisionRefused(
                f"template {template!r}: config file path {relpath!r} is absolute or traverses",
                template=template,
                file=relpath,
            )
        if allowlist and not is_cp_template_asset_path(relpath):
            raise ProvisionRefused(
                f"template {template!r}: config file {relpath!r} is not template-owned "
                "(only config.yaml and prompts/** travel)",
                template=template,
                file=relpath,
            )
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise ProvisionRefused(
                f"template {template!r}: config file {relpath!r} is not valid UTF-8 text "
                f"(unpaired surrogate at character {exc.start})",
                template=template,
                file=relpath,
            ) from exc
        if size > MAX_FILE_BYTES:
            raise ProvisionRefused(
                f"template {template!r}: file {relpath!r} is {size} bytes, over the "
                f"{MAX_FILE_BYTES}-byte per-file limit",
                status=413,
                template=template,
                file=relpath,
                size=size,
            )
    check_total(template, files)
