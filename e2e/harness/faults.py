"""The reference stack's fault switches, read from the same table the stack reads
(`fixtures/faults.yaml`): which exist, which must make the gate fail, and the diagnosis each
product fault must produce — with its placeholders filled in from the template fixture the run
uses, so the proofs hold for any template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from e2e.harness.compare import STUB_CONFIG_SIZE
from e2e.harness.fixture import TemplateFixture
from e2e.harness.settings import FIXTURES

TABLE = FIXTURES / "faults.yaml"


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # product | benign
    summary: str
    diagnosis: tuple[str, ...]
    fixture: str | None = None  # a template under fixtures/templates the proof needs

    def expected_words(self, fixture: TemplateFixture, plugin: str) -> list[str]:
        values: dict[str, object] = {
            "stub_size": STUB_CONFIG_SIZE,
            "prompts": len(fixture.prompts),
            "plugin": plugin,
            **byte_pattern_files(fixture),
        }
        return [line.format(**values) for line in self.diagnosis]


# The normalisation faults' diagnoses name a file: the first template-owned file that has the
# bytes the fault changes (its relative path, as the gate's message names it).
BYTE_PATTERNS: dict[str, Callable[[str, bytes], bool]] = {
    "crlf_file": lambda rel, data: b"\r\n" in data,
    "unterminated_file": lambda rel, data: bool(data) and not data.endswith(b"\n"),
    "empty_file": lambda rel, data: not data,
    "non_ascii_file": lambda rel, data: not rel.isascii(),
}


def byte_pattern_files(fixture: TemplateFixture) -> dict[str, str]:
    owned = fixture.owned
    return {
        key: next(
            (rel for rel in sorted(owned) if matches(rel, owned[rel])),
            f"(the template has no {key.replace('_', ' ')})",
        )
        for key, matches in BYTE_PATTERNS.items()
    }


def load(path: Path = TABLE) -> dict[str, Fault]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        str(name): Fault(
            str(name),
            str(row["kind"]),
            " ".join(str(row.get("summary", "")).split()),
            tuple(row.get("diagnosis") or ()),
            row.get("fixture"),
        )
        for name, row in data["faults"].items()
    }


FAULTS = load()
PRODUCT = sorted(n for n, f in FAULTS.items() if f.kind == "product")
BENIGN = sorted(n for n, f in FAULTS.items() if f.kind == "benign")
