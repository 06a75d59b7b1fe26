"""What installed plugins may legitimately change in the user's files, computed from the
plugin fixtures (docs/design.md, "The invariant"):

- each `rules/*.md` is appended to `/configs/CLAUDE.md` once, as a block: a header line
  `# Plugin: <name> / rule: <file>`, a blank line, the file's content; root-level `*.md`
  files (SKILL.md, …) may be appended the same way as `fragment:` blocks;
- `settings-fragment.json` is merged into `/configs/.claude/settings.json`: keys the user's
  settings lack are added (nested objects merged), the user's own values kept;
- `commands/*.md` may appear as `/configs/.claude/commands/<file>`, byte for byte.

Everything else the user wrote must keep its bytes. A block appended twice, a block whose text
is not the plugin's, or a lost user byte is a finding.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = b"# Plugin: "
ROOT_MD_SKIPPED = ("README.md", "CHANGELOG.md", "LICENSE.md", "CONTRIBUTING.md")
CLAUDE_MD = "CLAUDE.md"
SETTINGS = ".claude/settings.json"
COMMANDS = ".claude/commands/"


@dataclass
class PluginEffects:
    """The allowed changes of the installed plugins whose files we hold."""

    required: dict[bytes, bytes] = field(default_factory=dict)  # header line → content
    optional: dict[bytes, bytes] = field(default_factory=dict)
    fragments: list[dict[str, Any]] = field(default_factory=list)
    commands: dict[str, bytes] = field(default_factory=dict)  # rel under /configs → bytes
    unknown: list[str] = field(default_factory=list)  # plugins whose files we do not hold

    @classmethod
    def of(cls, plugins: dict[str, dict[str, bytes] | None]) -> PluginEffects:
        effects = cls()
        for name, files in sorted(plugins.items()):
            if files is None:
                effects.unknown.append(name)
                continue
            for rel, data in sorted(files.items()):
                parts = rel.split("/")
                if len(parts) == 2 and parts[0] == "rules" and rel.endswith(".md"):
                    effects.required[_header(name, "rule", parts[1])] = data
                elif len(parts) == 1 and rel.endswith(".md") and rel not in ROOT_MD_SKIPPED:
                    effects.optional[_header(name, "fragment", rel)] = data
                elif len(parts) == 2 and parts[0] == "commands" and rel.endswith(".md"):
                    effects.commands[COMMANDS + parts[1]] = data
                elif rel == "settings-fragment.json":
                    effects.fragments.append(json.loads(data))
        return effects

    # -- CLAUDE.md -------------------------------------------------------------------------
    def check_claude_md(self, user: bytes | None, actual: bytes) -> list[str]:
        """Problems with CLAUDE.md: the user's bytes first, then only known plugin blocks."""
        base = user or b""
        if not actual.startswith(base):
            return [f"the user's {len(base)} bytes are not kept at its start"]
        blocks, stray = split_blocks(actual[len(base) :])
        problems = [f"text outside any plugin block: {stray[:80]!r}"] if stray.strip() else []
        counts = Counter(header for header, _ in blocks)
        repeated = [f"{h.decode()} ({n} times)" for h, n in counts.items() if n > 1]
        if repeated:
            problems.append("plugin blocks appended more than once: " + "; ".join(repeated))
        known = {**self.optional, **self.required}
        for header, body in blocks:
            if header not in known:
                if not self.unknown or not _names_unknown(header, self.unknown):
                    problems.append(f"unknown block {header.decode()!r}")
            elif body.strip(b"\n") != known[header].strip(b"\n"):
                problems.append(f"block {header.decode()!r} is not the plugin's text")
        missing = [h.decode() for h in self.required if h not in counts]
        if missing:
            problems.append("plugin rule blocks missing: " + "; ".join(missing))
        return problems

    # -- .claude/settings.json ---------------------------------------------------------------
    def check_settings(self, user: bytes | None, actual: bytes | None) -> list[str]:
        if not self.fragments:
            return [] if actual == user else ["changed, and no installed plugin merges settings"]
        try:
            mine = json.loads(user) if user else {}
            got = json.loads(actual) if actual is not None else None
        except ValueError as exc:
            return [f"not JSON ({exc})"]
        want = mine
        for fragment in self.fragments:
            want = merge_missing(want, fragment)
        if got != want:
            return ["is not the user's settings with the plugins' fragments merged in"]
        return []


def _header(name: str, kind: str, file_name: str) -> bytes:
    return f"# Plugin: {name} / {kind}: {file_name}".encode()


def _names_unknown(header: bytes, unknown: list[str]) -> bool:
    return any(header.startswith(HEADER + n.encode() + b" / ") for n in unknown)


def split_blocks(text: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """(header, body) pairs of `# Plugin: …` blocks, and any text before the first one."""
    blocks: list[tuple[bytes, bytes]] = []
    stray = b""
    current: tuple[bytes, list[bytes]] | None = None
    for line in text.splitlines(keepends=True):
        if line.startswith(HEADER):
            if current:
                blocks.append((current[0], b"".join(current[1])))
            current = (line.rstrip(b"\r\n"), [])
        elif current is None:
            stray += line
        else:
            current[1].append(line)
    if current:
        blocks.append((current[0], b"".join(current[1])))
    return blocks, stray


def merge_missing(base: Any, fragment: Any) -> Any:
    """Keys of `fragment` that `base` lacks are added; nested objects merged; `base` wins."""
    if not isinstance(base, dict) or not isinstance(fragment, dict):
        return base
    merged = dict(base)
    for key, value in fragment.items():
        merged[key] = merge_missing(merged[key], value) if key in merged else value
    return merged


def plugin_files(directory: Path) -> dict[str, bytes] | None:
    if not directory.is_dir():
        return None
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
