"""Kill-matrix bookkeeping: rows, summary, exit verdict and the two report files."""

from __future__ import annotations

import json
from pathlib import Path

from e2e.campaign.matrix import Row, render_markdown, run_matrix, summary, write_reports
from e2e.campaign.verdicts import Case, Outcome, matrix_cases
from e2e.harness.faults import PRODUCT

PRODUCT_ROWS = len(PRODUCT) + 1  # every product fault once, and the late-reconcile pair

STUB = "template: config.yaml is the 218-byte stub; prompts missing (6 of 6)"


def _fake_run(case: Case) -> Outcome:
    """A perfect gate: product faults fail with their diagnosis, the rest pass."""
    if case.kind == "product":
        message = "invariant violated after first provision:\n  " + "\n  ".join(case.diagnosis)
        return Outcome("VerificationFailed", message, "after first provision: …", 1.5, 2.0)
    return Outcome(seconds=2.5, stack_start_s=2.0)


def test_a_perfect_gate_makes_an_ok_matrix(tmp_path: Path) -> None:
    rows = run_matrix(matrix_cases(), _fake_run, jobs=2)
    total = summary(rows)
    assert total["ok"] and total["product_caught"] == total["product_faults"] == PRODUCT_ROWS
    assert total["product_caught_pct"] == 100.0 and total["benign_failing"] == 0
    json_path, md_path = write_reports(rows, tmp_path, {"generated_at": "now", "restarts": 3})
    document = json.loads(json_path.read_text())
    assert document["summary"]["ok"] is True
    first = document["cases"][0]
    assert {"fault", "expected", "got", "diagnosis", "seconds"} <= set(first)
    assert first["fault"] == "restart-drops-template" and first["got"] == "red"
    markdown = md_path.read_text()
    assert "| `restart-drops-template` | product |" in markdown and "**OK**" in markdown


def test_a_surviving_product_fault_and_a_false_alarm_fail_the_matrix(tmp_path: Path) -> None:
    def flawed(case: Case) -> Outcome:
        if case.name == "plugin-lost":
            return Outcome(seconds=3.0)  # survived
        if case.name == "slow-boot":
            return Outcome("WaitTimeout", "timed out | waiting", "WaitTimeout: timed out", 30.0)
        return _fake_run(case)

    rows = run_matrix(matrix_cases(), flawed)
    total = summary(rows)
    assert not total["ok"]
    assert total["not_ok"] == ["plugin-lost: SURVIVED", "slow-boot: FALSE ALARM"]
    assert total["product_caught"] == PRODUCT_ROWS - 1 and total["benign_failing"] == 1
    markdown = render_markdown(rows, {})
    assert "**FAILED**" in markdown and "### `plugin-lost`: SURVIVED" in markdown
    # a pipe in a diagnosis must not break the table
    table = [line for line in markdown.splitlines() if line.startswith("| `slow-boot`")]
    assert table and table[0].count(" | ") == 6


def test_row_json_keeps_the_full_message_and_leaks() -> None:
    row = Row(Case(("ssm-delay",), "benign"), Outcome(leaks=("volume vol-1",)), "LEAKED")
    data = row.as_json()
    assert data["ok"] is False and data["leaks"] == ["volume vol-1"] and data["got"] == "green"
