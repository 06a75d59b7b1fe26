"""Writing a delivered config set into `/configs`, stdlib only (docs/contract.md, "Fleet and
boxes").

Rules: every delivered file is written atomically (temp file + rename, so a reader never sees
half a file); template-owned files (`config.yaml`, `prompts/**`) that the set lacks are removed;
no other path is touched; a missing `config.yaml` gets the built-in stub. Every path and every
value is checked before anything is written, so a bad set changes nothing.

Sets arrive as `{relpath: base64 of the raw bytes}` (the product's `config_files`) and are
written as bytes: CRLF, a BOM, a missing final newline or an empty file survive exactly.
"""

from __future__ import annotations

import binascii
import contextlib
import os
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import Any

# The built-in stub (218 bytes) a box falls back to. Its presence means the template's
# config.yaml never arrived: the failure the harness must catch.
STUB_CONFIG = (
    b"# Built-in default: the box got no config.yaml from its template.\n"
    b"name: workspace\n"
    b"role: assistant\n"
    b"description: Default workspace (no template config delivered)\n"
    b"runtime: claude-code\n"
    b"tier: 1\n"
    b"prompt_files: []\n"
    b"plugins: []\n"
)
assert len(STUB_CONFIG) == 218


class DeliveryError(Exception):
    """The config set cannot be written; the message names the path and the reason."""


class DeliveryReport:
    """What a delivery changed (a plain class: `dataclasses` costs the box ~15 ms to import)."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.removed: list[str] = []
        self.stub_written = False


def is_template_owned(relpath: str) -> bool:
    return relpath == "config.yaml" or relpath.startswith("prompts/")


def check_relpath(relpath: object) -> str:
    """A clean relative POSIX path, or DeliveryError: never absolute, never `..`."""
    if not isinstance(relpath, str) or not relpath or "\x00" in relpath or "\\" in relpath:
        raise DeliveryError(f"refusing config path {relpath!r}: empty or not a plain path")
    pure = PurePosixPath(relpath)
    if pure.is_absolute() or any(part in ("..", ".", "") for part in relpath.split("/")):
        raise DeliveryError(f"refusing config path {relpath!r}: absolute or traversing")
    return str(pure)


def decode_files(files: object, what: str = "config set") -> dict[str, bytes]:
    """`{relpath: base64}` → `{relpath: bytes}`, or DeliveryError naming the path and reason.

    base64 is checked strictly (`binascii`, not `base64`: that module imports `re` and costs the
    box ~10 ms): Go's StdEncoding, which the product uses, never emits whitespace.
    """
    if not isinstance(files, dict):
        raise DeliveryError(f"{what} is not a JSON object of path → base64")
    decoded: dict[str, bytes] = {}
    for rel, value in files.items():
        clean = check_relpath(rel)
        if not isinstance(value, str):
            raise DeliveryError(f"{what}: {rel!r} is not a base64 string")
        try:
            decoded[clean] = binascii.a2b_base64(value, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise DeliveryError(f"{what}: {rel!r} is not valid base64 ({exc})") from exc
    _check_no_nesting(decoded, what)
    return decoded


def _check_no_nesting(files: dict[str, bytes], what: str) -> None:
    """A set cannot hold both `a` and `a/b`: one of them could not be written."""
    for rel in files:
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                raise DeliveryError(f"{what}: {rel!r} needs {parent!r} to be a directory")


def _check_parents(root: Path, relpath: str) -> None:
    """Refuse to write through a symlink or over a non-directory (stays inside `root`)."""
    current = root
    for part in PurePosixPath(relpath).parts[:-1]:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
            raise DeliveryError(
                f"refusing to write {relpath!r}: {current} is not a plain directory"
            )
    target = root / relpath
    if target.is_symlink() or target.is_dir():
        raise DeliveryError(f"refusing to write {relpath!r}: {target} is a symlink or directory")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` so readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.delivery-{os.getpid()}"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _template_owned_on_disk(root: Path) -> list[str]:
    found = []
    if (root / "config.yaml").is_file() and not (root / "config.yaml").is_symlink():
        found.append("config.yaml")
    prompts = root / "prompts"
    if prompts.is_dir() and not prompts.is_symlink():
        for dirpath, dirnames, filenames in os.walk(prompts):
            for name in filenames:
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return found


def deliver(root: Path, files: dict[str, bytes]) -> DeliveryReport:
    """Bring `root` (the box's /configs) in line with the delivered set (decoded bytes)."""
    clean = {check_relpath(rel): data for rel, data in files.items()}
    for rel, data in clean.items():
        if not isinstance(data, bytes):
            raise DeliveryError(f"config file {rel!r} is not bytes")
        _check_parents(root, rel)
    report = DeliveryReport()
    for rel in sorted(clean):
        write_atomic(root / rel, clean[rel])
        report.written.append(rel)
    for rel in sorted(_template_owned_on_disk(root)):
        if rel not in clean:
            (root / rel).unlink()
            report.removed.append(rel)
    _prune_empty_dirs(root / "prompts")
    report.stub_written = ensure_config(root)
    return report


def ensure_config(root: Path) -> bool:
    """Write the built-in stub when no config.yaml is left; True if it did."""
    if (root / "config.yaml").exists() or (root / "config.yaml").is_symlink():
        return False
    write_atomic(root / "config.yaml", STUB_CONFIG)
    return True


def _prune_empty_dirs(top: Path) -> None:
    """Remove directories under prompts/ that removal left empty (template-owned too)."""
    if not top.is_dir() or top.is_symlink():
        return
    for dirpath, _dirnames, _filenames in os.walk(top, topdown=False):
        if dirpath != str(top) and not os.path.islink(dirpath):
            with contextlib.suppress(OSError):  # not empty: keep it
                os.rmdir(dirpath)


def check_plugin_name(name: Any) -> str:
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise DeliveryError(f"refusing plugin name {name!r}")
    if "\x00" in name or "\\" in name:
        raise DeliveryError(f"refusing plugin name {name!r}")
    return name


def write_plugin(root: Path, name: str, files: dict[str, bytes]) -> list[str]:
    """Write one installed plugin under `/configs/plugins/<name>/`."""
    check_plugin_name(name)
    written = []
    base = f"plugins/{name}"
    checked = {check_relpath(rel): data for rel, data in files.items()}
    for rel in checked:
        _check_parents(root, f"{base}/{rel}")
    for rel, data in sorted(checked.items()):
        write_atomic(root / base / rel, data)
        written.append(f"{base}/{rel}")
    return written


def _remove(path: Path) -> None:
    """Remove a file, a symlink (never what it points to) or a directory tree."""
    if path.is_symlink() or not path.is_dir():
        path.unlink()
    else:
        shutil.rmtree(path)


def mirror_plugins(root: Path, plugins: dict[str, dict[str, bytes]]) -> DeliveryReport:
    """Make `/configs/plugins/` exactly `plugins` (name → decoded files; docs/contract.md).

    A plugin that is not in the set is removed, and so is any file of a plugin that it no longer
    has: a stale copy (restored, or on a persistent config volume) must not hide a lost plugin.
    Nothing outside `/configs/plugins/` is touched, and every name and path is checked first.
    """
    served: dict[str, dict[str, bytes]] = {}
    for name, files in plugins.items():
        check_plugin_name(name)
        if not isinstance(files, dict) or not all(isinstance(b, bytes) for b in files.values()):
            raise DeliveryError(f"plugin {name!r}: 'files' must map paths to bytes")
        served[name] = {check_relpath(rel): data for rel, data in files.items()}
    top = root / "plugins"
    if top.is_symlink() or (top.exists() and not top.is_dir()):
        raise DeliveryError(f"refusing to mirror plugins: {top} is not a plain directory")
    report = DeliveryReport()
    if top.is_dir():
        for entry in sorted(top.iterdir()):
            if entry.name not in served or entry.is_symlink() or not entry.is_dir():
                _remove(entry)
                report.removed.append(f"plugins/{entry.name}")
                continue
            wanted = served[entry.name]
            for dirpath, dirnames, filenames in os.walk(entry):
                for name in filenames + [d for d in dirnames if os.path.islink(f"{dirpath}/{d}")]:
                    rel = os.path.relpath(os.path.join(dirpath, name), entry)
                    if rel not in wanted:
                        _remove(Path(dirpath) / name)
                        report.removed.append(f"plugins/{entry.name}/{rel}")
                dirnames[:] = [d for d in dirnames if not os.path.islink(f"{dirpath}/{d}")]
            _prune_empty_dirs(entry)
    for name, files in sorted(served.items()):
        report.written += write_plugin(root, name, files)
    return report
