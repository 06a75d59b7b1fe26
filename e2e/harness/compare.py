"""Pure comparison of manifests and file contents, and the words a failure uses.

No I/O here: verify.py fetches, this module decides and explains.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from e2e.harness.manifest import Entry, Manifest
from e2e.harness.report import redact

# A box that receives no config.yaml writes a built-in stub of exactly this size (the incident
# in docs/design.md, "Who uses it, for what").
STUB_CONFIG_SIZE = 218


@dataclass(frozen=True)
class Difference:
    kind: str  # missing | unexpected | changed
    path: str
    expected: Entry | None
    actual: Entry | None

    def describe(self) -> str:
        if self.kind == "missing":
            assert self.expected
            return f"{self.path}: missing (expected {self.expected.short()})"
        if self.kind == "unexpected":
            assert self.actual
            return f"{self.path}: unexpected (actual {self.actual.short()}; not expected here)"
        assert self.expected and self.actual
        return (
            f"{self.path}: differs: expected {self.expected.short()}, actual {self.actual.short()}"
            f"\n    expected sha256 {self.expected.sha256}"
            f"\n    actual   sha256 {self.actual.sha256}"
        )


def compare(expected: Manifest, actual: Manifest) -> list[Difference]:
    """Every difference, sorted by path: same set of paths, same type, size and sha256."""
    diffs: list[Difference] = []
    for path in sorted(set(expected.entries) | set(actual.entries)):
        want, got = expected.entries.get(path), actual.entries.get(path)
        if got is None:
            diffs.append(Difference("missing", path, want, None))
        elif want is None:
            diffs.append(Difference("unexpected", path, None, got))
        elif (want.sha256, want.size, want.type) != (got.sha256, got.size, got.type):
            diffs.append(Difference("changed", path, want, got))
    return diffs


def _text(data: bytes) -> list[str] | None:
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None


def first_differing_lines(expected: bytes, actual: bytes, context: int = 2) -> str:
    """Where two texts first part ways, with a little context; '' for binary content."""
    want, got = _text(expected), _text(actual)
    if want is None or got is None:
        return "(binary content: no line diff)"
    index = next(
        (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b),
        min(len(want), len(got)),
    )
    start = max(0, index - context)
    lines = [f"first difference at line {index + 1}:"]
    for label, text in (("expected", want), ("actual  ", got)):
        for n in range(start, min(len(text), index + context + 1)):
            marker = ">" if n == index else " "
            lines.append(f"  {label} {marker}{n + 1:>4}| {redact(text[n])[:160]}")
        if index >= len(text):
            lines.append(f"  {label} >{index + 1:>4}| (end of file: {len(text)} lines)")
    return "\n".join(lines)


def _escaped(data: bytes) -> str:
    """Bytes as text with every whitespace and control byte visible (\r, \n, \t, \xef …)."""
    return repr(data)[2:-1]


def first_differing_bytes(expected: bytes, actual: bytes, window: int = 24) -> str:
    """Where two byte strings first part ways, shown as escapes (so CRLF vs LF, a BOM, a
    trailing space or a missing final newline are visible), then the differing lines."""
    index = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    line = expected[:index].count(b"\n") + 1
    start = max(0, index - window)
    head = f"first difference at byte {index} (line {line}):"
    if index == min(len(expected), len(actual)) and len(expected) != len(actual):
        longer = "expected" if len(expected) > len(actual) else "actual"
        head += f" one is a prefix of the other; {longer} continues"
    lines = [
        head,
        f"  expected …{_escaped(expected[start : index + window])}…",
        f"  actual   …{_escaped(actual[start : index + window])}…",
    ]
    want, got = _text(expected), _text(actual)
    if (
        want is not None
        and got is not None
        and any(a != b for a, b in zip(want, got, strict=False))
    ):
        lines.append(first_differing_lines(expected, actual))  # the lines differ, not just ends
    return "\n".join(lines)


def capped_diff(expected: bytes, actual: bytes, name: str, max_lines: int = 80) -> str:
    """A unified diff of two texts, cut after `max_lines` lines (saying so)."""
    want, got = _text(expected), _text(actual)
    if want is None or got is None:
        return f"{name}: binary content differs ({len(expected)} vs {len(actual)} bytes)"
    lines = list(
        difflib.unified_diff(want, got, f"expected/{name}", f"actual/{name}", lineterm="", n=2)
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… [diff cut: {len(lines) - max_lines} more lines]"]
    return "\n".join(lines)


def template_headline(diffs: list[Difference], expected: Manifest) -> str:
    """One line naming what went wrong with the template-owned files, in plain words.

    The historical bug reads: `config.yaml is the 218-byte stub; prompts missing (6 of 6)`.
    """
    by_path = {d.path: d for d in diffs}
    parts: list[str] = []
    cfg = by_path.get("config.yaml")
    if cfg is not None:
        if cfg.kind == "missing":
            parts.append("config.yaml missing")
        elif cfg.kind == "changed" and cfg.actual and cfg.actual.size == STUB_CONFIG_SIZE:
            parts.append(f"config.yaml is the {STUB_CONFIG_SIZE}-byte stub")
        elif cfg.actual and cfg.expected:
            parts.append(f"config.yaml differs ({cfg.expected.size} → {cfg.actual.size} bytes)")
    prompts = [p for p in expected.entries if p.startswith("prompts/")]
    missing = [d.path for d in diffs if d.kind == "missing" and d.path.startswith("prompts/")]
    changed = [d.path for d in diffs if d.kind == "changed" and d.path.startswith("prompts/")]
    extra = [d.path for d in diffs if d.kind == "unexpected"]
    if missing and len(missing) == len(prompts):
        parts.append(f"prompts missing ({len(missing)} of {len(prompts)})")
    elif missing:
        parts.append(f"{len(missing)} of {len(prompts)} prompts missing: {', '.join(missing)}")
    if changed:
        verb = "prompt differs" if len(changed) == 1 else "prompts differ"
        parts.append(f"{len(changed)} {verb}: {', '.join(changed)}")
    if extra:
        parts.append(f"files the template lacks: {', '.join(extra)}")
    return "; ".join(parts)


def user_headline(diffs: list[Difference]) -> str:
    """One line naming lost, changed and appeared user/agent files."""
    groups = {"missing": "lost", "changed": "changed", "unexpected": "appeared"}
    parts = []
    for kind, word in groups.items():
        paths = [d.path for d in diffs if d.kind == kind]
        if paths:
            parts.append(f"{word}: {', '.join(paths)}")
    return "user/agent files " + "; ".join(parts) if parts else ""
