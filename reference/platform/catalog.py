"""Templates as the tenant knows them: directories in its template roots (handlers/templates.go,
template_import.go). Imported templates are written beside the built-in ones; there is no
template DELETE and no template table.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from reference.config import StackConfig
from reference.platform.templates import is_safe_relpath, read_config, runtime_and_model

MAX_IMPORT_FILES = 200
RUNTIMES = frozenset(
    {"claude-code", "hermes", "openclaw", "codex", "google-adk", "gemini-cli", "langgraph"}
)
GENERATED_CONFIG = "name: {name}\nmodel: anthropic:claude-haiku-4-5-20251001\n"


class ImportRefused(ValueError):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error"))
        self.status = status
        self.body = body


def normalise_name(name: str) -> str:
    """normalizeName: lower-case, spaces → `-` (no trimming), then only `[a-z0-9_-]` kept;
    nothing left → `unnamed`."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower().replace(" ", "-")) or "unnamed"


def import_template(config: StackConfig, name: str, files: dict[str, str]) -> dict[str, Any]:
    """Write the template atomically (a temp dir renamed into place); the 201 body."""
    if len(files) > MAX_IMPORT_FILES:
        raise ImportRefused(400, {"error": f"too many files ({len(files)}), max 200"})
    dir_name = normalise_name(name)
    if any(not is_safe_relpath(rel) for rel in files):
        raise ImportRefused(400, {"error": "invalid request body"})
    root = config.imported_templates_dir
    if (
        any((Path(r) / dir_name).exists() for r in config.template_roots)
        or (root / dir_name).exists()
    ):
        raise ImportRefused(409, {"error": "template already exists", "id": dir_name})
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dir_name}.", dir=root))
    try:
        contents = dict(files)
        contents.setdefault("config.yaml", GENERATED_CONFIG.format(name=name))
        for rel, text in contents.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8", "surrogatepass"))
            path.chmod(0o600)
    except (OSError, UnicodeEncodeError) as exc:  # a bad path or unwritable bytes
        shutil.rmtree(staging, ignore_errors=True)
        raise ImportRefused(400, {"error": "invalid request body"}) from exc
    try:
        os.rename(staging, root / dir_name)
    except OSError as exc:  # made meanwhile by another import
        shutil.rmtree(staging, ignore_errors=True)
        raise ImportRefused(409, {"error": "template already exists", "id": dir_name}) from exc
    return {"status": "imported", "id": dir_name, "name": name}


def summary(template_id: str, directory: Path) -> dict[str, Any] | None:
    """The `GET /templates` item; None for a template the list skips (bad YAML, unknown
    runtime), as the product skips them silently."""
    text = read_config(directory)
    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    runtime, model = runtime_and_model(text)
    if runtime and runtime not in RUNTIMES:  # an unknown runtime is skipped, a missing one not
        return None
    raw_skills = data.get("skills")
    skills: list[Any] = raw_skills if isinstance(raw_skills, list) else []
    return {
        "id": template_id,
        "name": str(data.get("name") or ""),
        "description": str(data.get("description") or ""),
        "tier": 4,
        "runtime": runtime,
        "model": model,
        "skills": skills,
        "skill_count": len(skills),
    }


def listing(config: StackConfig) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for root in config.template_roots:
        if not Path(root).is_dir():
            continue
        for path in sorted(Path(root).iterdir()):
            if path.name.startswith(".") or path.name in seen or not path.is_dir():
                continue
            item = summary(path.name, path)
            if item is not None:
                seen[path.name] = item
    return list(seen.values())
