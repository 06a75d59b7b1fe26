"""The reference stack's fault switches, read from the same table the stack reads
(`fixtures/faults.yaml`): which exist, which must make the gate fail, and the diagnosis each
product fault must produce — with its placeholders filled in from the template fixture the run
uses, so the proofs hold for any template."""

from __future__ import annotations

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
        values = {
            "stub_size": STUB_CONFIG_SIZE,
            "prompts": len(fixture.prompts),
            "plugin": plugin,
        }
        return [line.format(**values) for line in self.diagnosis]


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
