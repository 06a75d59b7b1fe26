"""Boot step (c): install the declared plugins into `/configs/plugins/`, fetched one by one.

The box asks the platform for each plugin `MOLECULE_DECLARED_PLUGINS` names and then makes
`/configs/plugins/` exactly that set, so a plugin restored from a snapshot (or left on a
persistent config volume) but no longer declared is gone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reference.box.delivery import DeliveryError, DeliveryReport, decode_files, mirror_plugins
from reference.box.plugin_sources import ENV_NAME, declared_plugins
from reference.box.registry import Registry, RegistryError


class PluginError(Exception):
    """A declared plugin could not be fetched or written; the message names it."""


def fetch_plugin(registry: Registry, workspace_id: str, source: str, name: str) -> dict[str, bytes]:
    """One plugin's files, decoded; PluginError naming the source and the reason."""
    try:
        answer: Any = registry.plugin(workspace_id, name)
    except RegistryError as exc:
        raise PluginError(f"plugin {source!r} could not be fetched: {exc}") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("files"), dict):
        raise PluginError(f"plugin {source!r}: the answer has no 'files' map: {answer!r:.200}")
    try:
        return decode_files(answer["files"], f"plugin {name!r}")
    except DeliveryError as exc:
        raise PluginError(str(exc)) from exc


def install_declared(
    configs: Path, env: dict[str, Any], registry: Registry, workspace_id: str
) -> tuple[list[str], DeliveryReport]:
    """Fetch every declared plugin, then mirror them; (installed names, what changed)."""
    raw = env.get(ENV_NAME) or ""
    try:
        declared = declared_plugins(str(raw))
    except DeliveryError as exc:
        raise PluginError(f"{ENV_NAME}={raw!r}: {exc}") from exc
    plugins = {name: fetch_plugin(registry, workspace_id, src, name) for src, name in declared}
    try:
        report = mirror_plugins(configs, plugins)
    except DeliveryError as exc:
        raise PluginError(f"installed plugins could not be written: {exc}") from exc
    return sorted(plugins), report
