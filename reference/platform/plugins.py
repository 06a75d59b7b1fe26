"""Plugins from the configured plugins root, addressed as `local://<name>`."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from reference.controlplane.templates import MAX_FILE_BYTES, is_safe_relpath

PLUGIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LOCAL_SCHEME = "local://"


class PluginError(ValueError):
    """A plugin source the platform cannot install; the message names source and reason."""


def parse_source(source: str) -> str:
    """`local://seo-all` → `seo-all`; other schemes and unsafe names are refused."""
    if not source.startswith(LOCAL_SCHEME):
        raise PluginError(f"plugin source {source!r}: only local://<name> sources are supported")
    name = source[len(LOCAL_SCHEME) :]
    if not PLUGIN_NAME.match(name) or ".." in name:
        raise PluginError(f"plugin source {source!r}: invalid plugin name {name!r}")
    return name


def plugin_dir(root: Path, name: str) -> Path:
    """The plugin's directory inside `root`; refuses names that resolve outside it."""
    real_root = Path(os.path.realpath(root))
    path = Path(os.path.realpath(Path(root) / name))
    if real_root not in path.parents:
        raise PluginError(f"plugin {name!r} resolves outside the plugins root {real_root}")
    if not path.is_dir():
        raise PluginError(f"plugin {name!r} not found in plugins root {real_root}")
    return path


def load_plugin_files(root: Path, name: str) -> dict[str, str]:
    """Every regular UTF-8 file of the plugin, by relative path (symlinks skipped)."""
    base = plugin_dir(root, name)
    files: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not (here / d).is_symlink())
        for filename in sorted(filenames):
            path = here / filename
            rel = path.relative_to(base).as_posix()
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or not is_safe_relpath(rel):
                continue
            if info.st_size > MAX_FILE_BYTES:
                raise PluginError(
                    f"plugin {name!r}: file {rel!r} is {info.st_size} bytes, over the "
                    f"{MAX_FILE_BYTES}-byte limit"
                )
            try:
                files[rel] = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PluginError(
                    f"plugin {name!r}: file {rel!r} is not UTF-8 (offset {exc.start})"
                ) from exc
    return files


def declared_plugins(config_yaml: dict[str, Any]) -> list[str]:
    """Plugin names declared by a config.yaml: `plugins: [name | local://name | {name: ..}]`."""
    names: list[str] = []
    for entry in config_yaml.get("plugins") or []:
        raw = entry.get("source") or entry.get("name") if isinstance(entry, dict) else entry
        if not isinstance(raw, str):
            continue
        try:
            name = parse_source(raw if raw.startswith(LOCAL_SCHEME) else LOCAL_SCHEME + raw)
        except PluginError:
            continue
        if name not in names:
            names.append(name)
    return names
