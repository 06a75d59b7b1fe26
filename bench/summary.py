"""`make bench`'s table: each figure read from its JSON, next to its bar; whether it is met.

The table's header line says when (UTC), on which commit and on what machine it was made. A
figure measured on another commit says so in its row; the soak counts as met only with at
least 200 runs on the current commit (a clean tree at that commit), since a soak proves the
code it ran, nothing else.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provenance import describe_machine, is_clean
from scale_report import BAR_PSS_GIB, BAR_RATIO, GIB, ratio

from e2e.campaign.machine import load_at_start

BAR_GATE_S = 3.0
BAR_OVERHEAD = 1.15
BAR_SPEEDUP = 1.6
BAR_WALL_N2_S = 60.0
SOAK_RUNS = 200


@dataclass(frozen=True)
class Row:
    what: str
    measured: str
    bar: str
    met: bool


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _on(doc: dict[str, Any], head: str) -> str:
    """` (load 1.2)`: the load when the figure's run began; `; on abc1234` added when the figure
    is from another commit than the table's."""
    machine = doc.get("machine") or {}
    load = load_at_start(machine)
    sha = doc.get("commit") or "unknown commit"
    return f" (load {load})" if sha == head else f" (load {load}; on {sha})"


def gate_row(doc: dict[str, Any], head: str) -> Row:
    med = doc["median_s"]
    what = f"gate wall time, median of {len(doc['runs'])}"
    return Row(what, f"{med:.2f} s{_on(doc, head)}", f"≤ {BAR_GATE_S:.0f} s", med <= BAR_GATE_S)


def overhead_row(doc: dict[str, Any], head: str) -> Row:
    rounds = (doc.get("calls") or {}).get("rounds") or []
    same = sum(r["actions_equal"] for r in rounds)
    calls = f"; same acting calls in {same}/{len(rounds)} rounds" if rounds else ""
    figure = (
        f"{doc['ratio']:.2f} ({doc['harness_median_s']:.2f} s / {doc['straight_median_s']:.2f} s"
        f"{calls}){_on(doc, head)}"
    )
    what = "harness overhead (gate / straight-line script)"
    return Row(what, figure, f"≤ {BAR_OVERHEAD}", doc["ratio"] <= BAR_OVERHEAD)


def xdist_row(doc: dict[str, Any], head: str) -> Row:
    walls, runs = doc["wall_s"], doc.get("runs") or {}
    failed = [f"-n {w}: {n}" for w, rs in runs.items() for r in rs for n in r["failed"]]
    note = f"; failed {', '.join(failed)}" if failed else ""
    repeat = len(runs.get("2", [])) or 1
    figure = (
        f"{doc['speedup']:.2f} ({walls['0']:.0f} s → {walls['2']:.0f} s, medians of {repeat}"
        f"{note}){_on(doc, head)}"
    )
    met = doc["speedup"] >= BAR_SPEEDUP and walls["2"] <= BAR_WALL_N2_S and not failed
    bar = f"≥ {BAR_SPEEDUP}; -n 2 ≤ {BAR_WALL_N2_S:.0f} s"
    return Row("e2e main pass -n 0 vs -n 2 speed-up", figure, bar, met)


def scale_row(doc: dict[str, Any], head: str) -> Row:
    sizes = doc["sizes"]
    ran = [s for s in sizes if not s.get("skipped")]
    points = ", ".join(
        f"{s['workspaces']}: {s['s_per_workspace']:.2f}"
        if s.get("s_per_workspace")
        else f"{s['workspaces']}: timed out"
        for s in ran
    )
    skipped = [str(s["workspaces"]) for s in sizes if s.get("skipped")]
    errors = sum(len(s["errors"]) for s in ran)
    r = ratio(sizes)
    largest = ran[-1] if ran else None
    pss = largest["memory"]["peak_pss_mib"] / GIB if largest else None
    figure = f"s per workspace {points}" + (f" (skipped {', '.join(skipped)})" if skipped else "")
    figure += f"; 200/50 = {r}" if r is not None else "; no 200/50 ratio"
    if largest is not None and pss is not None:
        figure += f"; peak PSS at {largest['workspaces']}: {pss:.2f} GiB"
    figure += f"; {errors} errors{_on(doc, head)}"
    met = (
        r is not None
        and r <= BAR_RATIO
        and pss is not None
        and pss <= BAR_PSS_GIB
        and errors == 0
        and not any(s.get("timed_out") for s in ran)
    )
    bar = f"200/50 ≤ {BAR_RATIO}; PSS ≤ {BAR_PSS_GIB} GiB; 0 errors"
    return Row("scale curve, create → online → restart → verify", figure, bar, met)


def matrix_row(doc: dict[str, Any], head: str) -> Row:
    """Met only by the whole matrix: a run of chosen rows (`--only`) proves those rows."""
    s = doc["summary"]
    only = doc.get("only")
    partial = f" (only {', '.join(only)})" if only else ""
    figure = (
        f"{s['product_caught']}/{s['product_faults']} product faults caught, "
        f"{s['benign_failing']} benign/control failing{partial}{_on(doc, head)}"
    )
    return Row("kill matrix", figure, "100 % caught, 0 failing", bool(s["ok"]) and only == [])


def soak_row(doc: dict[str, Any], head: str) -> Row:
    sha = doc.get("commit") or "an unknown commit"
    machine = doc.get("machine") or {}
    load = load_at_start(machine)
    figure = (
        f"{doc['failures']} failures in {doc['runs']} runs on {sha} (seed {doc['seed']}; "
        f"gate p50 {doc['p50_gate_s']} s, p95 {doc['p95_gate_s']} s; load {load})"
    )
    current = is_clean(sha) and head.split("-")[0] == sha
    met = doc["failures"] == 0 and doc["runs"] >= SOAK_RUNS and current
    if doc["runs"] >= SOAK_RUNS and not current:
        figure += "; not the current commit"
    return Row("flake soak", figure, f"0 in {SOAK_RUNS} on this commit", met)


def rows(bench: Path, reports: Path, head: str) -> list[Row]:
    """A row for each figure whose JSON exists, in the table's order."""
    sources = [
        (bench / "gate.json", gate_row),
        (bench / "overhead.json", overhead_row),
        (bench / "xdist.json", xdist_row),
        (bench / "scale.json", scale_row),
        (reports / "mutants.json", matrix_row),
        (reports / "soak.json", soak_row),
    ]
    return [make(doc, head) for path, make in sources if (doc := _load(path)) is not None]


def header(meta: dict[str, Any]) -> str:
    return (
        f"Generated {meta['generated_at']} on {meta['commit']}; "
        f"{describe_machine(meta['machine'])}."
    )


def table(found: list[Row], meta: dict[str, Any]) -> str:
    lines = [header(meta), "", "| what | measured | bar | met |", "|---|---|---|---|"]
    for row in found:
        lines.append(f"| {row.what} | {row.measured} | {row.bar} | {'yes' if row.met else 'no'} |")
    return "\n".join(lines) + "\n"


def as_json(found: list[Row], meta: dict[str, Any]) -> dict[str, Any]:
    return {**meta, "rows": [asdict(r) for r in found]}


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


class MarkersMissing(RuntimeError):
    pass


def _around(text: str, where: Path) -> tuple[str, str]:
    """The text before the start marker and after the end marker."""
    starts, ends = text.count(START), text.count(END)
    if starts != 1 or ends != 1 or text.index(START) > text.index(END):
        raise MarkersMissing(
            f"{where} needs the markers {START} and {END}, once each and in that order "
            f"(found {starts} and {ends}); the table goes between them"
        )
    before, rest = text.split(START, 1)
    return before, rest.split(END, 1)[1]


def check_readme(readme: Path) -> None:
    """Raise MarkersMissing now, not after an hour of benchmarks."""
    _around(readme.read_text(), readme)


def into_readme(readme: Path, block: str) -> None:
    """Replace what is between the markers (each exactly once, start before end)."""
    before, after = _around(readme.read_text(), readme)
    readme.write_text(f"{before}{START}\n{block.rstrip()}\n{END}{after}")
