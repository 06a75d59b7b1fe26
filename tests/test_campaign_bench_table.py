"""`make bench`'s figures-vs-bars table: read from the benchmarks' JSON, judged against the bars;
the header says when, on which commit and on what machine; the README gets it between markers."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAD = "abc1234"
META = {
    "generated_at": "2026-12-02T01:02:03Z",
    "commit": HEAD,
    "machine": {"cpus": 2, "loadavg_1m_at_start": 0.42, "python": "3.11.7"},
}


@pytest.fixture(scope="module")
def summary() -> ModuleType:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        return importlib.import_module("summary")
    finally:
        sys.path.remove(str(REPO / "bench"))


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _size(n: int, per: float | None, pss_mib: float, **extra: object) -> dict[str, object]:
    return {
        "workspaces": n,
        "s_per_workspace": per,
        "errors": [],
        "memory": {"peak_pss_mib": pss_mib, "peak_rss_mib": pss_mib * 1.5},
        **extra,
    }


def _reports(tmp_path: Path, *, soak_commit: str = HEAD, soak_runs: int = 200) -> Path:
    bench = tmp_path / "bench"
    _write(bench / "gate.json", {"median_s": 2.5, "runs": [{}] * 10, "commit": HEAD})
    _write(
        bench / "overhead.json",
        {
            "ratio": 1.2,
            "harness_median_s": 2.4,
            "straight_median_s": 2.0,
            "commit": "0ld0ld0",
            "calls": {"rounds": [{"actions_equal": True}, {"actions_equal": False}]},
        },
    )
    _write(
        bench / "xdist.json",
        {
            "speedup": 1.7,
            "wall_s": {"0": 85.0, "2": 50.0},
            "runs": {"0": [{"failed": []}] * 3, "2": [{"failed": []}] * 3},
            "commit": HEAD,
        },
    )
    _write(
        bench / "scale.json",
        {
            "commit": HEAD,
            "sizes": [
                _size(10, 1.0, 300.0),
                _size(50, 1.2, 800.0),
                _size(100, 1.4, 1400.0),
                _size(200, 1.9, 2200.0),
            ],
        },
    )
    _write(
        tmp_path / "mutants.json",
        {
            "summary": {"product_caught": 7, "product_faults": 7, "benign_failing": 0, "ok": True},
            "commit": HEAD,
            "only": [],
        },
    )
    _write(
        tmp_path / "soak.json",
        {
            "failures": 0,
            "runs": soak_runs,
            "seed": 5,
            "p50_gate_s": 3.0,
            "p95_gate_s": 9.0,
            "commit": soak_commit,
        },
    )
    return bench


def test_table_judges_each_figure_against_its_bar(summary: ModuleType, tmp_path: Path) -> None:
    found = summary.rows(_reports(tmp_path), tmp_path, HEAD)
    met = {row.what.split(",")[0]: row.met for row in found}
    assert met == {
        "gate wall time": True,
        "harness overhead (gate / straight-line script)": False,  # 1.2 > 1.15
        "e2e main pass -n 0 vs -n 2 speed-up": True,
        "scale curve": False,  # 1.9 / 1.2 = 1.58 > 1.5 (PSS 2.15 GiB is within 2.5)
        "kill matrix": True,
        "flake soak": True,
    }
    text = summary.table(found, META)
    lines = text.splitlines()
    assert lines[0] == (
        "Generated 2026-12-02T01:02:03Z on abc1234; 2 CPUs, load 0.42 at start, Python 3.11.7."
    )
    assert len(lines) == 2 + 2 + 6
    assert (
        "| 1.20 (2.40 s / 2.00 s; same acting calls in 1/2 rounds) (load ?; on 0ld0ld0) |" in text
    )
    assert "| 1.70 (85 s → 50 s, medians of 3) (load ?) | ≥ 1.6; -n 2 ≤ 60 s | yes |" in text
    scale = next(row for row in found if row.what.startswith("scale"))
    assert "10: 1.00, 50: 1.20, 100: 1.40, 200: 1.90; 200/50 = 1.58" in scale.measured
    assert "peak PSS at 200: 2.15 GiB; 0 errors" in scale.measured


def test_a_kill_matrix_of_chosen_rows_is_not_the_matrix(
    summary: ModuleType, tmp_path: Path
) -> None:
    _reports(tmp_path)
    path = tmp_path / "mutants.json"
    doc = json.loads(path.read_text())
    _write(path, {**doc, "only": ["restart-drops-template"]})
    (row,) = [r for r in summary.rows(tmp_path / "bench", tmp_path, HEAD) if "matrix" in r.what]
    assert not row.met and "(only restart-drops-template)" in row.measured


def test_a_soak_counts_only_with_200_runs_on_the_current_commit(
    summary: ModuleType, tmp_path: Path
) -> None:
    def soak(**kw: object) -> object:
        return next(
            r for r in summary.rows(_reports(tmp_path, **kw), tmp_path, HEAD) if "soak" in r.what
        )

    assert soak().met and f"on {HEAD}" in soak().measured
    assert not soak(soak_runs=120).met
    other = soak(soak_commit="0ld0ld0")
    assert not other.met and "on 0ld0ld0" in other.measured and "not the current" in other.measured
    assert not soak(soak_commit=f"{HEAD}-dirty").met


def test_a_size_that_timed_out_leaves_no_ratio(summary: ModuleType, tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    _write(
        bench / "scale.json",
        {
            "commit": HEAD,
            "sizes": [
                _size(50, 1.2, 800.0),
                _size(200, None, 2000.0, timed_out=True),
            ],
        },
    )
    (row,) = summary.rows(bench, tmp_path, HEAD)
    assert not row.met
    assert "200: timed out" in row.measured and "no 200/50 ratio" in row.measured


def test_missing_reports_are_left_out_not_invented(summary: ModuleType, tmp_path: Path) -> None:
    assert summary.rows(tmp_path / "bench", tmp_path, HEAD) == []


def test_the_readme_gets_the_table_between_its_markers(summary: ModuleType, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{summary.START}\nold table\n{summary.END}\n\nrest\n")
    summary.into_readme(readme, "new table\n")
    assert readme.read_text() == f"# x\n\n{summary.START}\nnew table\n{summary.END}\n\nrest\n"


@pytest.mark.parametrize(
    "text",
    [
        "no markers\n",
        "<!-- bench:start -->\nonly the start\n",
        "<!-- bench:end -->\n<!-- bench:start -->\n",
    ],
)
def test_the_readme_without_its_markers_is_refused(
    summary: ModuleType, tmp_path: Path, text: str
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(summary.MarkersMissing, match="bench:start"):
        summary.into_readme(readme, "table\n")
    assert readme.read_text() == text
