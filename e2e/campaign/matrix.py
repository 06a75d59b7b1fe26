"""The kill matrix: the gate against one fresh stack per fault switch, judged and reported.

    python bench/mutants.py [--only restart-drops-template] [--jobs 2]

Writes reports/mutants.json and reports/mutants.md; exit status 1 when a product fault survived
or was misdiagnosed, or a benign fault (or the no-fault control) failed the gate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.campaign.machine import describe, machine
from e2e.campaign.verdicts import PASSING_VERDICTS, Case, Outcome, judge


@dataclass
class Row:
    case: Case
    outcome: Outcome
    verdict: str

    @property
    def ok(self) -> bool:
        return self.verdict in PASSING_VERDICTS

    def as_json(self) -> dict[str, Any]:
        return {
            "fault": self.case.name,
            "kind": self.case.kind,
            "expected": self.case.expected,
            "got": self.outcome.got,
            "verdict": self.verdict,
            "ok": self.ok,
            "diagnosis": self.outcome.diagnosis,
            "seconds": self.outcome.seconds,
            "stack_start_s": round(self.outcome.stack_start_s, 3),
            "error_type": self.outcome.error_type,
            "leaks": list(self.outcome.leaks),
            "message": self.outcome.message,
        }


RunCase = Callable[[Case], Outcome]


def run_matrix(cases: Sequence[Case], run_case: RunCase, *, jobs: int = 1) -> list[Row]:
    """Run every case (in order, or `jobs` at a time) and judge it."""

    def one(case: Case) -> Row:
        outcome = run_case(case)
        row = Row(case, outcome, judge(case, outcome))
        print(
            f"{row.case.name:<45} {row.outcome.got:<5} {row.verdict:<15} "
            f"{row.outcome.seconds:6.2f}s  {row.outcome.diagnosis[:110]}",
            flush=True,
        )
        return row

    if jobs <= 1:
        return [one(c) for c in cases]
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(one, cases))


def summary(rows: Sequence[Row]) -> dict[str, Any]:
    product = [r for r in rows if r.case.kind == "product"]
    harmless = [r for r in rows if r.case.kind != "product"]
    caught = sum(r.ok for r in product)
    return {
        "product_faults": len(product),
        "product_caught": caught,
        "product_caught_pct": round(100.0 * caught / len(product), 1) if product else None,
        "benign_and_control": len(harmless),
        "benign_failing": sum(not r.ok for r in harmless),
        "not_ok": [f"{r.case.name}: {r.verdict}" for r in rows if not r.ok],
        "ok": all(r.ok for r in rows),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def describe_machine(meta: dict[str, Any]) -> str:
    return describe(meta.get("machine") or {})


def render_markdown(rows: Sequence[Row], meta: dict[str, Any]) -> str:
    total = summary(rows)
    lines = [
        "# Kill matrix",
        "",
        f"Generated {meta.get('generated_at', '?')} on {describe_machine(meta)}; "
        f"gate with {meta.get('restarts', '?')} extra restarts; one fresh stack per row.",
        "",
        f"Product faults caught with the right diagnosis: **{total['product_caught']} of "
        f"{total['product_faults']}**; benign/control rows failing: "
        f"**{total['benign_failing']}**. Overall: **{'OK' if total['ok'] else 'FAILED'}**.",
        "",
        "| fault | kind | expected | got | verdict | diagnosis | seconds |",
        "|---|---|---|---|---|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| `{r.case.name}` | {r.case.kind} | {_cell(r.case.expected)} | {r.outcome.got} "
            f"| {r.verdict} | {_cell(r.outcome.diagnosis) or '—'} | {r.outcome.seconds:.2f} |"
        )
    failing = [r for r in rows if not r.ok]
    if failing:
        lines += ["", "## Not OK", ""]
        for r in failing:
            lines += [f"### `{r.case.name}`: {r.verdict}", "", "```", r.outcome.message, "```"]
            if r.outcome.leaks:
                lines += ["", "Leaks: " + "; ".join(r.outcome.leaks)]
            lines.append("")
    return "\n".join(lines) + "\n"


def write_reports(rows: Sequence[Row], out_dir: Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    document = {**meta, "summary": summary(rows), "cases": [r.as_json() for r in rows]}
    json_path = out_dir / "mutants.json"
    md_path = out_dir / "mutants.md"
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    md_path.write_text(render_markdown(rows, meta))
    return json_path, md_path


def report_meta(restarts: int) -> dict[str, Any]:
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "restarts": restarts,
    }
