"""Plugin sources and bundles, as the product names them (plugins/source.go, gitea.go).

A source is `local://<name>` or a bare `<name>` (the tenant's own plugin directory),
`github://o/r#ref` or `gitea://o/r[/sub…]#ref` (install name: the last path segment). The
reference serves every source from its plugins root by install name, so a template that
declares `gitea://…/agent-skills/seo-all#main` gets the fixture `seo-all`.
"""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from reference.platform.templates import is_safe_relpath

PLUGIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SCHEMES = ("local://", "github://", "gitea://")
MAX_BUNDLE_BYTES = 100 * 1024 * 1024


class PluginError(ValueError):
    """A source the platform cannot install; `status` is the product's answer for it."""

    def __init__(self, message: str, status: int = 400, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.fields = fields


def install_name(source: str) -> str:
    """`local://seo-all`, `seo-all`, `gitea://o/r/agent-skills/seo-all#main` → `seo-all`."""
    source = source.strip()
    if not source:
        raise PluginError("'source' is required (e.g. local://name or gitea://owner/repo#ref)")
    scheme = next((s for s in SCHEMES if source.startswith(s)), None)
    if scheme is None and "://" in source:
        raise PluginError(
            "failed to resolve plugin source", available_schemes=[s[:-3] for s in SCHEMES]
        )
    rest = source[len(scheme) :] if scheme else source
    if scheme in ("github://", "gitea://") and "#" not in rest:
        raise PluginError(
            "unpinned plugin source: append a tag or commit SHA (#ref)", 422, source=source
        )
    name = rest.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if not PLUGIN_NAME.match(name) or ".." in name:
        raise PluginError("invalid plugin source", source=source)
    return name


def plugin_dir(root: Path, name: str) -> Path:
    real_root = Path(os.path.realpath(root))
    path = Path(os.path.realpath(Path(root) / name))
    if real_root not in path.parents or not path.is_dir():
        raise PluginError(f"failed to fetch plugin {name!r}", 404, source=name)
    return path


def load_bundle(root: Path, name: str) -> dict[str, bytes]:
    """Every regular file of the plugin, by relative path (symlinks skipped)."""
    base = plugin_dir(root, name)
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not (here / d).is_symlink())
        for filename in sorted(filenames):
            path = here / filename
            rel = path.relative_to(base).as_posix()
            if not stat.S_ISREG(path.lstat().st_mode) or not is_safe_relpath(rel):
                continue
            files[rel] = path.read_bytes()
            total += len(files[rel])
            if total > MAX_BUNDLE_BYTES:
                raise PluginError(f"plugin {name!r} is over {MAX_BUNDLE_BYTES} bytes", 413)
    return files


def bundle_json(name: str, source: str, files: dict[str, bytes]) -> dict[str, Any]:
    return {
        "name": name,
        "source": source,
        "files": {rel: base64.b64encode(data).decode("ascii") for rel, data in files.items()},
    }


def declared_sources(config_yaml: str) -> list[str]:
    """`plugins:` of a template's config.yaml: a YAML list of source strings
    (template_plugins.go `Plugins []string`). Anything else declares nothing."""
    try:
        data = yaml.safe_load(config_yaml) if config_yaml else None
    except yaml.YAMLError:
        return []
    plugins = data.get("plugins") if isinstance(data, dict) else None
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        return []
    seen: list[str] = []
    for source in plugins:
        if source not in seen:
            seen.append(source)
    return seen


def boot_sources(declared: list[str], installed: list[dict[str, Any]]) -> list[str]:
    """MOLECULE_DECLARED_PLUGINS: declared plus installed by install name, installed source wins
    (workspace_provision.go, plugins_tracking.go)."""
    by_name: dict[str, str] = {}
    for source in declared:
        try:
            by_name[install_name(source)] = source
        except PluginError:
            continue
    for row in installed:
        by_name[str(row["name"])] = str(row["source"])
    return [by_name[name] for name in sorted(by_name)]
