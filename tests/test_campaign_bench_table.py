"""`make bench`'s figures-vs-bars table: read from the benchmarks' JSON, judged against the bars."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def _run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all", REPO / "bench" / "run_all.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_table_judges_each_figure_against_its_bar(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    _write(bench / "gate.json", {"median_s": 2.5, "runs": [{}] * 10})
    _write(
        bench / "overhead.json",
        {"ratio": 1.2, "harness_median_s": 2.4, "straight_median_s": 2.0},
    )
    _write(
        bench / "xdist.json",
        {
            "speedup": 1.7,
            "wall_s": {"0": 170.0, "2": 100.0},
            "runs": {"0": [{"failed": []}] * 3, "2": [{"failed": []}] * 3},
        },
    )
    _write(
        bench / "scale.json",
        {
            "workspaces": 50,
            "wall_s": 30.0,
            "errors": [],
            "peak_rss_mib": 1600.0,
            "peak_pss_mib": 900.0,
        },
    )
    _write(
        tmp_path / "mutants.json",
        {"summary": {"product_caught": 7, "product_faults": 7, "benign_failing": 0, "ok": True}},
    )
    _write(
        tmp_path / "soak.json",
        {"failures": 0, "runs": 120, "seed": 5, "p50_gate_s": 3.0, "p95_gate_s": 9.0},
    )
    run_all = _run_all()
    met = {what.split(",")[0]: ok for what, _, _, ok in run_all.rows(bench, tmp_path)}
    assert met == {
        "gate wall time": True,
        "harness overhead (gate / straight-line script)": False,  # 1.2 > 1.15
        "e2e suite -n 0 vs -n 2 speed-up": True,
        "50 workspaces create → online → restart → verify": False,  # 1600 MiB > 1.5 GiB
        "kill matrix": True,
        "flake soak": False,  # 120 runs are not the 200 the bar asks for
    }
    table = run_all.table(run_all.rows(bench, tmp_path))
    assert table.count("\n") == 8 and "| 1.20 (2.40 s / 2.00 s) | ≤ 1.15 | no |" in table
    assert "| 1.70 (170 s → 100 s, medians of 3) | ≥ 1.6 | yes |" in table


def test_missing_reports_are_left_out_not_invented(tmp_path: Path) -> None:
    assert _run_all().rows(tmp_path / "bench", tmp_path) == []
