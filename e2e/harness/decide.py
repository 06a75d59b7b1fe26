"""Deciding one reading against the expectations; whole files are fetched only to explain a
difference or to check what a plugin may have changed (effects.py)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from e2e.harness.compare import (
    Difference,
    capped_diff,
    compare,
    first_differing_bytes,
    template_headline,
    user_headline,
)
from e2e.harness.effects import CLAUDE_MD, SETTINGS, PluginEffects
from e2e.harness.files import FileReadError
from e2e.harness.fixture import CONFIGS, Expected
from e2e.harness.manifest import Manifest, entry_for_bytes
from e2e.harness.ssm import SsmError

if TYPE_CHECKING:
    from e2e.harness.verify import BoxReading

MAX_DIFF_FILES = 4  # whole files fetched per verification, only to explain a difference
MAX_DIFF_BYTES = 256 * 1024


class Reader(Protocol):
    def read(self, path: str) -> bytes | None: ...


@dataclass
class Finding:
    section: str
    headline: str
    details: list[str]


@dataclass
class Decision:
    findings: list[Finding] = field(default_factory=list)
    files_checked: int = 0
    diffs: dict[str, str] = field(default_factory=dict)


class _Fetcher:
    """Whole files on demand, within a per-verification budget for explanations."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.budget = MAX_DIFF_FILES

    def get(self, path: str) -> tuple[bytes | None, str]:
        try:
            return self.reader.read(path), ""
        except (SsmError, FileReadError) as exc:
            return None, f"(could not fetch the actual file: {exc})"

    def explain(
        self,
        diffs: list[Difference],
        expected: Mapping[str, bytes],
        where: Callable[[str], str],
        out: dict[str, str],
    ) -> list[str]:
        details = []
        for diff in diffs:
            text = diff.describe()
            want = expected.get(diff.path)
            actual = diff.actual
            if (
                diff.kind == "changed"
                and want is not None
                and self.budget > 0
                and actual is not None
                and actual.type == "file"
                and actual.size <= MAX_DIFF_BYTES
            ):
                self.budget -= 1
                got, problem = self.get(where(diff.path))
                text += f"\n    {problem}" if problem else ""
                if got is not None:
                    text += "\n" + first_differing_bytes(want, got)
                    out[diff.path] = capped_diff(want, got, diff.path)
            details.append(text)
        return details


def decide(label: str, reading: BoxReading, expected: Expected, reader: Reader) -> Decision:
    result = Decision()
    fetcher = _Fetcher(reader)
    if not reading.configs.root_exists:
        result.findings.append(Finding("template", f"{CONFIGS} does not exist on the box", []))
    _template(reading, expected, fetcher, result)
    if expected.user is not None:
        _user(reading, expected, fetcher, result)
    _plugins(reading, expected, result)
    return result


def _template(reading: BoxReading, expected: Expected, fetcher: _Fetcher, result: Decision) -> None:
    want = expected.template.manifest()
    result.files_checked += len(want)
    diffs = compare(want, reading.template_part())
    if diffs:
        details = fetcher.explain(
            diffs, expected.template.owned, lambda rel: posixpath.join(CONFIGS, rel), result.diffs
        )
        result.findings.append(Finding("template", template_headline(diffs, want), details))


def _user(reading: BoxReading, expected: Expected, fetcher: _Fetcher, result: Decision) -> None:
    assert expected.user is not None
    got = reading.user_part()
    result.files_checked += len(expected.user)
    effects = expected.effects
    unexplained: list[Difference] = []
    effect_problems: list[str] = []
    for diff in compare(expected.user, got):
        problems = _effect_problems(diff, expected, effects, fetcher)
        if problems is None:
            unexplained.append(diff)
        else:
            effect_problems += problems
    if unexplained:
        details = fetcher.explain(unexplained, expected.user_contents, lambda p: p, result.diffs)
        result.findings.append(Finding("user/agent", user_headline(unexplained), details))
    if effect_problems:
        changed = sorted({p.split(":", 1)[0] for p in effect_problems})
        result.findings.append(
            Finding(
                "user/agent", f"user/agent files changed: {', '.join(changed)}", effect_problems
            )
        )


def _effect_problems(
    diff: Difference, expected: Expected, effects: PluginEffects, fetcher: _Fetcher
) -> list[str] | None:
    """None: the difference is not a plugin effect; else the effect's problems (maybe none)."""
    rel = diff.path[len(CONFIGS) + 1 :] if diff.path.startswith(CONFIGS + "/") else None
    if rel is None or diff.kind == "missing":
        return None
    if rel in effects.commands and diff.kind == "unexpected":
        ok = diff.actual is not None and diff.actual == entry_for_bytes(
            diff.actual.path, effects.commands[rel]
        )
        return [] if ok else [f"{diff.path}: is not the plugin's command file"]
    if rel not in (CLAUDE_MD, SETTINGS):
        return None
    actual, problem = fetcher.get(diff.path)
    if actual is None:
        return [f"{diff.path}: {problem or 'vanished while being read'}"]
    user = expected.user_contents.get(diff.path)
    check = effects.check_claude_md if rel == CLAUDE_MD else effects.check_settings
    return [f"{diff.path}: {p}" for p in check(user, actual)]


def _plugins(reading: BoxReading, expected: Expected, result: Decision) -> None:
    for name in sorted(expected.plugins):
        want: Manifest | None = expected.plugins[name]
        got = reading.plugin_part(name)
        if not got.entries:
            where = f"{CONFIGS}/plugins/{name}/"
            text = f"plugin {name} is installed but {where} is empty or missing"
            result.findings.append(Finding("plugins", text, []))
            continue
        result.files_checked += len(want if want is not None else got)
        diffs = compare(want, got) if want is not None else []
        if diffs:
            result.findings.append(
                Finding(
                    "plugins",
                    f"plugin {name} differs from its source under {got.root}",
                    [d.describe() for d in diffs],
                )
            )
