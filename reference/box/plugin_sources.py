"""`MOLECULE_DECLARED_PLUGINS` → the plugins a box installs at boot, by install name.

The platform stamps every (re)provision's env with the comma-joined sources (declared plus
installed). A source is `local://name`, a bare `name`, `github://o/r#ref` or
`gitea://o/r/sub/path#ref`; its install name is the last path segment without `#ref`, as the
product's resolvers name them (`plugins/gitea.go`: the last subpath segment).
"""

from __future__ import annotations

from reference.box.delivery import DeliveryError, check_plugin_name

ENV_NAME = "MOLECULE_DECLARED_PLUGINS"


def install_name(source: str) -> str:
    """The directory name under /configs/plugins/ that `source` installs to."""
    path = source.split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1]
    segments = [part for part in path.split("/") if part]
    if not segments:
        raise DeliveryError(f"plugin source {source!r} names no plugin")
    return check_plugin_name(segments[-1])


def declared_plugins(raw: str) -> list[tuple[str, str]]:
    """`(source, install name)` per declared plugin, in order; a repeated name counts once."""
    found: dict[str, str] = {}
    for part in raw.split(","):
        source = part.strip()
        if source:
            found.setdefault(install_name(source), source)
    return [(source, name) for name, source in found.items()]
