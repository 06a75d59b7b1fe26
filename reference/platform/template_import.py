"""`POST /templates/import`: validation and an atomic write into the imported-templates root."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from reference.controlplane.templates import MAX_FILE_BYTES, MAX_FILES

TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
DEFAULT_RUNTIME = "claude-code"
# libyaml's safe loader when present (several times faster), else the pure-Python one
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ImportRefused(ValueError):
    """An import the platform refuses; `status` is the HTTP code (422 invalid, 413 too large)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def normalise_name(raw: str) -> str:
    """Trim, NFC, lower-case, and turn runs of spaces/underscores into `-`; then validate."""
    name = unicodedata.normalize("NFC", raw).strip().lower()
    name = re.sub(r"[\s_]+", "-", name)
    if not TEMPLATE_NAME.match(name) or ".." in name:
        raise ImportRefused(
            f"template name {raw!r} is invalid: after normalising to {name!r} it must be 1-100 "
            "characters of a-z, 0-9, '.', '_' or '-', start with a letter or digit, no '..'"
        )
    return name


def normalise_relpath(template: str, raw: str) -> str:
    """`./a//b` → `a/b`; refuses absolute paths, `..`, backslashes, NUL and empty paths."""
    where = f"template {template!r}: file path {raw!r}"
    if not raw or "\x00" in raw or "\\" in raw:
        raise ImportRefused(f"{where} is empty or contains NUL or backslash")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise ImportRefused(f"{where} is absolute; paths must be relative to the template")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ImportRefused(f"{where} contains '..' (path traversal)")
    if not parts or raw.endswith("/"):
        raise ImportRefused(f"{where} does not name a file")
    return "/".join(parts)


def validate_files(template: str, files: dict[str, Any]) -> dict[str, str]:
    """Normalised paths → text; every refusal names template, file and size."""
    if not files:
        raise ImportRefused(f"template {template!r}: no files")
    if len(files) > MAX_FILES:
        raise ImportRefused(
            f"template {template!r}: {len(files)} files exceed the limit of {MAX_FILES}", 413
        )
    clean: dict[str, str] = {}
    for raw, text in files.items():
        rel = normalise_relpath(template, raw)
        if rel in clean:
            raise ImportRefused(f"template {template!r}: file path {raw!r} duplicates {rel!r}")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise ImportRefused(
                f"template {template!r}: file {rel!r} is not valid UTF-8 text "
                f"(unpaired surrogate at character {exc.start})"
            ) from exc
        if size > MAX_FILE_BYTES:
            raise ImportRefused(
                f"template {template!r}: file {rel!r} is {size} bytes, over the "
                f"{MAX_FILE_BYTES}-byte per-file limit",
                413,
            )
        clean[rel] = text
    return clean


def runtime_of(template: str, files: dict[str, str]) -> str:
    """The `runtime:` of config.yaml; an unparseable config.yaml is refused with its line."""
    text = files.get("config.yaml")
    if text is None:
        return DEFAULT_RUNTIME
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ImportRefused(f"template {template!r}: config.yaml is not valid YAML{where}") from exc
    if data is not None and not isinstance(data, dict):
        raise ImportRefused(f"template {template!r}: config.yaml must be a mapping")
    runtime = (data or {}).get("runtime")
    return runtime if isinstance(runtime, str) and runtime else DEFAULT_RUNTIME


def write_template(root: Path, name: str, files: dict[str, str]) -> None:
    """Write into a temp dir beside the target, then rename: readers never see half a template."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
