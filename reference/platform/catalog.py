"""Which templates the platform knows: imported ones (SQLite + files) and builtin root dirs."""

from __future__ import annotations

from typing import Any

from reference.config import StackConfig
from reference.controlplane.errors import ProvisionRefused
from reference.controlplane.templates import resolve_workspace_template_path
from reference.platform.store import Store
from reference.platform.template_import import (
    DEFAULT_RUNTIME,
    ImportRefused,
    normalise_name,
    runtime_of,
)


class TemplateCatalog:
    def __init__(self, config: StackConfig, store: Store) -> None:
        self.config = config
        self.store = store

    def builtin(self) -> list[dict[str, Any]]:
        """Template dirs of the roots other than the imported-templates one."""
        seen: list[dict[str, Any]] = []
        for root in self.config.template_roots:
            if root == self.config.imported_templates_dir or not root.is_dir():
                continue
            for path in sorted(root.iterdir()):
                if path.is_dir() and not path.name.startswith("."):
                    seen.append({"id": f"builtin:{path.name}", "name": path.name})
        return seen

    def builtin_runtime(self, name: str) -> str:
        """The `runtime:` of a builtin template's config.yaml (default when unreadable)."""
        try:
            path = resolve_workspace_template_path(name, self.config.template_roots)
            text = (path / "config.yaml").read_text(encoding="utf-8")
            return runtime_of(name, {"config.yaml": text})
        except (ProvisionRefused, OSError, UnicodeDecodeError, ImportRefused):
            return DEFAULT_RUNTIME

    def exists(self, name: str) -> bool:
        if self.store.template(name):
            return True
        try:
            resolve_workspace_template_path(name, self.config.template_roots)
        except ProvisionRefused:
            return False
        return True

    def listing(self) -> list[dict[str, Any]]:
        imported = [
            {
                "id": t["id"],
                "name": t["name"],
                "runtime": t["runtime"],
                "files": t["file_count"],
                "source": "imported",
                "created_at": t["created_at"],
            }
            for t in self.store.templates()
        ]
        names = {t["name"] for t in imported}
        builtin = []
        for t in self.builtin():
            if t["name"] in names:
                continue
            names.add(t["name"])
            builtin.append({**t, "runtime": self.builtin_runtime(t["name"]), "source": "builtin"})
        return imported + builtin

    def lookup(self, ref: str) -> tuple[str, str]:
        """(name, runtime) of a template given by name, normalised name or id.

        Raises ProvisionRefused (with the resolver's reason) for an unknown or refused name.
        """
        row = self.store.template(ref)
        if row is None:
            try:
                row = self.store.template(normalise_name(ref))
            except ImportRefused:
                row = None
        if row:
            return str(row["name"]), str(row["runtime"])
        name = ref.removeprefix("builtin:")
        resolve_workspace_template_path(name, self.config.template_roots)
        return name, self.builtin_runtime(name)
