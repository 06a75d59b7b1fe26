"""The expected bytes: the template fixture the run provisions, and what the gate expects of
a box (template-owned files, the user's files, installed plugins and their effects).

Everything a test asserts about a template is derived from the fixture it runs with (sizes,
paths, counts, declared plugins), so any valid template directory can be used
(`E2E_TEMPLATE_DIR`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from e2e.harness.effects import PluginEffects, plugin_files
from e2e.harness.manifest import Manifest, manifest_of_bytes
from e2e.harness.settings import PLUGINS_FIXTURE, install_name

CONFIGS = "/configs"
WORKSPACE = "/workspace"


def is_template_owned(rel: str) -> bool:
    """`config.yaml` and `prompts/**` — nothing else travels in config_files."""
    return rel == "config.yaml" or rel.startswith("prompts/")


def is_user_config(rel: str) -> bool:
    """User/agent files under /configs (runtime-owned ones — .auth_token, .restore-completed,
    plugins/, skills/ — are neither template nor user files)."""
    return rel in ("CLAUDE.md", "MEMORY.md") or rel.startswith(".claude/")


@dataclass
class TemplateFixture:
    """The template as imported (all files) and its template-owned part (the expected bytes)."""

    files: dict[str, bytes]

    @classmethod
    def from_dir(cls, directory: Path) -> TemplateFixture:
        files = {
            p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }
        return cls(files)

    def import_payload(self) -> dict[str, str]:
        return {rel: data.decode("utf-8") for rel, data in self.files.items()}

    @property
    def owned(self) -> dict[str, bytes]:
        return {rel: data for rel, data in self.files.items() if is_template_owned(rel)}

    @property
    def prompts(self) -> list[str]:
        return sorted(rel for rel in self.owned if rel.startswith("prompts/"))

    def manifest(self) -> Manifest:
        return manifest_of_bytes(CONFIGS, self.owned)

    def config(self) -> dict[str, object]:
        data = yaml.safe_load(self.files.get("config.yaml", b"").decode("utf-8")) or {}
        return data if isinstance(data, dict) else {}

    def declared_plugins(self) -> list[str]:
        """Install names of `plugins:` in config.yaml — what the platform's reconcile (and the
        boot-time install) brings."""
        try:
            plugins = self.config().get("plugins")
        except (yaml.YAMLError, UnicodeDecodeError):
            return []
        if not isinstance(plugins, list):
            return []
        return sorted({install_name(str(p)) for p in plugins})

    def with_plugins(self, sources: list[str]) -> TemplateFixture:
        """A copy whose config.yaml declares `sources` instead: only the `plugins:` key's lines
        are re-emitted (appended when there is none), every other byte (comments, key order,
        spacing, line endings) stays as it was."""
        text = self.files["config.yaml"].decode("utf-8")
        lines = text.splitlines(keepends=True)
        newline = "\r\n" if "\r\n" in text else "\n"
        start = next((n for n, line in enumerate(lines) if line.startswith("plugins:")), None)
        dumped = yaml.safe_dump({"plugins": sources}, default_flow_style=None)
        block = dumped.rstrip("\n").replace("\n", newline) + newline
        if start is None:
            tail = "" if not lines or lines[-1].endswith("\n") else newline
            new = text + tail + block
        else:
            end = _end_of_value(lines, start + 1)
            new = "".join(lines[:start]) + block + "".join(lines[end:])
        files = dict(self.files)
        files["config.yaml"] = new.encode("utf-8")
        return TemplateFixture(files)


def _end_of_value(lines: list[str], first: int) -> int:
    """Where a top-level key's value ends: after its indented lines and column-0 `-` items;
    blank lines belong to it only when more of its items follow."""
    end = first
    for n in range(first, len(lines)):
        line = lines[n]
        if line.strip() and (line[0].isspace() or line.startswith("-")):
            end = n + 1
        elif line.strip():
            break
    return end


def plugin_fixture(name: str) -> dict[str, bytes] | None:
    """The plugin's files when the repo holds it (a `local://` fixture), else None."""
    return plugin_files(PLUGINS_FIXTURE / name)


@dataclass
class Expected:
    template: TemplateFixture
    user: Manifest | None = None  # absolute paths; None: not checked yet (before seeding)
    user_contents: dict[str, bytes] = field(default_factory=dict)  # what we wrote, by abs path
    plugins: dict[str, Manifest | None] = field(default_factory=dict)  # None: presence only
    plugin_sources: dict[str, dict[str, bytes] | None] = field(default_factory=dict)

    def expect_plugin(self, name: str, byte_exact: bool = True) -> None:
        files = plugin_fixture(name)
        self.plugin_sources[name] = files
        self.plugins[name] = (
            manifest_of_bytes(f"{CONFIGS}/plugins/{name}", files) if files and byte_exact else None
        )

    @property
    def effects(self) -> PluginEffects:
        return PluginEffects.of(self.plugin_sources)
