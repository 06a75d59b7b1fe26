"""What the agent runtime does with the plugins in `/configs/plugins/` at boot (boot step d).

Imitates the product runtime's agentskills adaptor (PRODUCT-API "Plugins and reconcile"; the
older public copy `molecule_runtime/plugins_registry/builtins.py`), made idempotent so a box
that gets its `/configs` back from a snapshot does not grow CLAUDE.md on every boot:

- `rules/*.md` and root-level `*.md` (README/CHANGELOG/LICENSE/CONTRIBUTING excepted) become
  blocks appended to `/configs/CLAUDE.md`, each under a `# Plugin: <name> / rule: <file>` (or
  `fragment:`) header line and skipped when that exact line is already there;
- `skills/<x>/` is copied to `/configs/skills/<x>/` unless that exists;
- `commands/*.md` go to `/configs/.claude/commands/` unless already there;
- `settings-fragment.json` adds the keys `/configs/.claude/settings.json` lacks.

`apply_plugin_effects` is a pure function over a directory so tests (and a cross-check against
the harness's own model) can call it directly.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reference.box.delivery import check_plugin_name, write_atomic
from reference.box.trees import is_real_dir, mirror_tree

MEMORY_FILE = "CLAUDE.md"
SKIP_ROOT_MD = frozenset({"readme.md", "changelog.md", "license.md", "contributing.md"})
ROOT_SKILL_MODES = ("fragment", "skill-dir")
Log = Callable[[str], None]


class EffectsReport:
    """What the effects changed, in order (plain class: the box avoids `dataclasses`)."""

    def __init__(self) -> None:
        self.appended: list[str] = []  # header lines appended to CLAUDE.md
        self.skipped: list[str] = []  # header lines already there
        self.written: list[str] = []  # files written, relative to /configs
        self.warnings: list[str] = []


def _regular_files(directory: Path, suffix: str = "") -> list[Path]:
    """Regular files (not symlinks) directly in `directory`, sorted by name."""
    if not is_real_dir(directory):
        return []
    found = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if entry.is_file(follow_symlinks=False) and entry.name.endswith(suffix):
            found.append(Path(entry.path))
    return found


def memory_blocks(plugin: Path, name: str, root_skill: str) -> list[tuple[str, bytes]]:
    """(header line, content) for every rule, then every root fragment, of one plugin."""
    blocks = []
    for path in _regular_files(plugin / "rules", ".md"):
        blocks.append((f"# Plugin: {name} / rule: {path.name}", path.read_bytes()))
    for path in _regular_files(plugin, ".md"):
        if path.name.lower() in SKIP_ROOT_MD:
            continue
        if root_skill == "skill-dir" and path.name == "SKILL.md":
            continue
        blocks.append((f"# Plugin: {name} / fragment: {path.name}", path.read_bytes()))
    return blocks


def block_bytes(existing: bytes, header: str, content: bytes) -> bytes:
    """The bytes to append after `existing` for one block (a blank line separates blocks)."""
    out = b""
    if existing:
        if not existing.endswith(b"\n"):
            out += b"\n"
        out += b"\n"
    out += header.encode() + b"\n\n" + content
    if not content.endswith(b"\n"):
        out += b"\n"
    return out


def _has_line(data: bytes, line: bytes) -> bool:
    return any(candidate.rstrip(b"\r") == line for candidate in data.split(b"\n"))


def append_blocks(
    memory: Path, blocks: list[tuple[str, bytes]], repeat: bool, report: EffectsReport
) -> None:
    """Append each block whose header line is not in `memory` yet (every block if `repeat`)."""
    try:
        data = memory.read_bytes()
    except FileNotFoundError:
        data = b""
    for header, content in blocks:
        if not repeat and _has_line(data, header.encode()):
            report.skipped.append(header)
            continue
        chunk = block_bytes(data, header, content)
        with open(memory, "ab") as handle:
            handle.write(chunk)
        data += chunk
        report.appended.append(header)


def copy_skills(configs: Path, plugin: Path, report: EffectsReport) -> None:
    source = plugin / "skills"
    if not is_real_dir(source):
        return
    for entry in sorted(os.scandir(source), key=lambda e: e.name):
        target = configs / "skills" / entry.name
        if not entry.is_dir(follow_symlinks=False) or os.path.lexists(target):
            continue
        mirror_tree(Path(entry.path), target)
        report.written.append(f"skills/{entry.name}/")


def copy_root_skill(configs: Path, plugin: Path, name: str, report: EffectsReport) -> None:
    """`skill-dir` mode: a root SKILL.md becomes the skill `/configs/skills/<plugin>/`."""
    source = plugin / "SKILL.md"
    target = configs / "skills" / name
    if source.is_symlink() or not source.is_file() or os.path.lexists(target):
        return
    write_atomic(target / "SKILL.md", source.read_bytes())
    report.written.append(f"skills/{name}/SKILL.md")


def copy_commands(configs: Path, plugin: Path, report: EffectsReport) -> None:
    for path in _regular_files(plugin / "commands", ".md"):
        target = configs / ".claude" / "commands" / path.name
        if os.path.lexists(target):
            continue
        write_atomic(target, path.read_bytes())
        report.written.append(f".claude/commands/{path.name}")


def merge_missing(existing: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """Add the keys `existing` lacks; nested objects merge, existing scalars and lists stay."""
    merged = dict(existing)
    for key, value in fragment.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = merge_missing(merged[key], value)
    return merged


def merge_settings(configs: Path, plugin: Path, report: EffectsReport) -> None:
    source = plugin / "settings-fragment.json"
    if source.is_symlink() or not source.is_file():
        return
    try:
        fragment = json.loads(source.read_bytes())
    except ValueError as exc:
        report.warnings.append(f"{source}: not JSON ({exc}); ignored")
        return
    if not isinstance(fragment, dict):
        report.warnings.append(f"{source}: not a JSON object; ignored")
        return
    target = configs / ".claude" / "settings.json"
    existing: Any = {}
    if os.path.lexists(target):
        try:
            existing = json.loads(target.read_bytes())
        except (OSError, ValueError) as exc:
            report.warnings.append(f"{target}: unparsable ({exc}); left untouched")
            return
        if not isinstance(existing, dict):
            report.warnings.append(f"{target}: not a JSON object; left untouched")
            return
    merged = merge_missing(existing, fragment)
    if merged == existing:  # nothing new (and no file is written for an empty merge)
        return
    write_atomic(target, (json.dumps(merged, indent=2, sort_keys=True) + "\n").encode())
    report.written.append(".claude/settings.json")


def installed_plugins(configs: Path) -> list[tuple[str, Path]]:
    """(name, directory) of every plugin under /configs/plugins/, sorted by name."""
    top = configs / "plugins"
    if not is_real_dir(top):
        return []
    found = []
    for entry in sorted(os.scandir(top), key=lambda e: e.name):
        if stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode):
            found.append((check_plugin_name(entry.name), Path(entry.path)))
    return found


def apply_plugin_effects(
    configs: Path, root_skill: str = "fragment", repeat_blocks: bool = False
) -> EffectsReport:
    """Apply every installed plugin's effects to `configs`; safe to run on every boot.

    `repeat_blocks` is the product fault `plugin-rules-repeat`: blocks are appended even when
    their header line is already in CLAUDE.md, so each boot adds them again.
    """
    if root_skill not in ROOT_SKILL_MODES:
        raise ValueError(f"root_skill must be one of {ROOT_SKILL_MODES}, got {root_skill!r}")
    report = EffectsReport()
    for name, plugin in installed_plugins(configs):
        blocks = memory_blocks(plugin, name, root_skill)
        if blocks:
            append_blocks(configs / MEMORY_FILE, blocks, repeat_blocks, report)
        copy_skills(configs, plugin, report)
        if root_skill == "skill-dir":
            copy_root_skill(configs, plugin, name, report)
        copy_commands(configs, plugin, report)
        merge_settings(configs, plugin, report)
    return report
