"""The one-screen summary at the end of `make e2e`: per workspace, restarts verified, files
checked, timings; then retries and notes (a dropped restart, a reconcile not seen), and a loud
line when the run retried more than `E2E_RETRY_WARN` times.

Workers attach their rows to each test's report (`user_properties`); the controller prints."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from e2e.plugins.shared import SUMMARY_KEY

_collected: list[dict[str, Any]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "teardown":
        return
    for key, value in report.user_properties:
        if key == SUMMARY_KEY:
            for row in json.loads(str(value)):
                row["test"] = report.nodeid.split("::", 1)[-1]
                row["outcome"] = report.outcome
                _collected.append(row)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _collected or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    tr = terminalreporter
    tr.section("template-delivery e2e summary")
    tr.write_line(f"run id {os.environ.get('E2E_RUN_ID', '?')}")
    tr.write_line(f"{'workspace':<40} {'restarts':>8} {'verifs':>6} {'files':>6}  timings (s)")
    for row in sorted(_collected, key=lambda r: r["name"]):
        timings = ", ".join(f"{k} {v:.2f}" for k, v in sorted(row["timings"].items()))
        tr.write_line(
            f"{row['name'][:40]:<40} {row['restarts_verified']:>8} {row['verifications']:>6} "
            f"{row['files_checked']:>6}  {timings}"
        )
    total_files = sum(r["files_checked"] for r in _collected)
    total_restarts = sum(r["restarts_verified"] for r in _collected)
    http = sum(r.get("retries_http", 0) for r in _collected)
    aws = sum(r.get("retries_aws", 0) for r in _collected)
    tr.write_line(
        f"{len(_collected)} workspaces, {total_restarts} restarts verified, "
        f"{total_files} file checks, retries: {http} HTTP, {aws} AWS"
    )
    for row in sorted(_collected, key=lambda r: r["name"]):
        for note in row.get("notes", []):
            tr.write_line(f"note {row['name'][:40]}: {note}")
    threshold = int(os.environ.get("E2E_RETRY_WARN", "50"))
    if http + aws > threshold:
        tr.write_line(
            f"WARNING: {http + aws} retries in this run, over E2E_RETRY_WARN={threshold}: the "
            "target answered errors or throttled often; see the Allure notes per workspace",
            yellow=True,
            bold=True,
        )
