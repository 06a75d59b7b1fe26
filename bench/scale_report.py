"""The scale curve on one screen: a row per size, then calls per workspace across sizes."""

from __future__ import annotations

from typing import Any

from provenance import describe_machine

GIB = 1024.0
CALL_ROWS = 6  # per kind: the most frequent calls at the largest size
BAR_RATIO = 1.5  # time per workspace at 200 / at 50
BAR_PSS_GIB = 2.5  # peak PSS at the largest size


def _p(stage: dict[str, Any] | None) -> str:
    if not stage or stage.get("median_s") is None:
        return "—"
    return f"{stage['median_s']:.1f}/{stage['p95_s']:.1f}"


def ratio(sizes: list[dict[str, Any]], big: int = 200, small: int = 50) -> float | None:
    """Time per workspace at `big` over `small`: how much worse each workspace gets."""
    by = {s["workspaces"]: s.get("s_per_workspace") for s in sizes}
    top, bottom = by.get(big), by.get(small)
    return round(top / bottom, 2) if top and bottom else None


def size_rows(sizes: list[dict[str, Any]]) -> list[str]:
    head = (
        f"{'size':>5} {'done':>5} {'err':>4} {'wall s':>7} {'s/ws':>6}  "
        f"{'online':>9} {'reconcile':>9} {'restart':>9} {'verify':>9}  "
        f"{'RSS GiB':>7} {'PSS GiB':>7}"
    )
    lines = [head, " " * 29 + "stage median/p95 s"]
    for s in sizes:
        if s.get("skipped"):
            lines.append(f"{s['workspaces']:>5}  skipped: {s['skipped']}")
            continue
        st, mem = s["stages"], s["memory"]
        per = f"{s['s_per_workspace']:.3f}" if s.get("s_per_workspace") else "—"
        lines.append(
            f"{s['workspaces']:>5} {s['completed']:>5} {len(s['errors']):>4} {s['wall_s']:>7.1f} "
            f"{per:>6}  {_p(st.get('online')):>9} {_p(st.get('reconcile')):>9} "
            f"{_p(st.get('restart')):>9} {_p(st.get('verify')):>9}  "
            f"{mem['peak_rss_mib'] / GIB:>7.2f} {mem['peak_pss_mib'] / GIB:>7.2f}"
            + ("  TIMED OUT" if s.get("timed_out") else "")
        )
    return lines


def call_rows(sizes: list[dict[str, Any]]) -> list[str]:
    ran = [s for s in sizes if not s.get("skipped")]
    if not ran:
        return []
    kinds = [
        ("platform_http_harness", "platform (harness)"),
        ("aws_harness", "AWS (harness)"),
        ("aws_stack_own", "AWS (stack's own: CP, boxes)"),
    ]
    lines = ["per workspace" + " " * 34 + "".join(f"{s['workspaces']:>8}" for s in ran)]
    lines.append("  lifecycle events seen (3 cycles asked for)")
    for kind in ("WORKSPACE_PROVISIONING", "WORKSPACE_OFFLINE", "WORKSPACE_PROVISION_FAILED"):
        cells = "".join(f"{s.get('events_per_workspace', {}).get(kind, 0):>8}" for s in ran)
        lines.append(f"    {kind:<43}{cells}")
    lines.append("  CPU s per workspace: stack tree / harness")
    for key in ("stack_tree", "harness_process"):
        cells = "".join(f"{s.get('cpu_s', {}).get(key, 0) / s['workspaces']:>8.2f}" for s in ran)
        lines.append(f"    {key:<43}{cells}")
    for key, title in kinds:
        lines.append(f"  {title}")
        largest = ran[-1]["calls_per_workspace"].get(key, {})
        for call in list(largest)[:CALL_ROWS]:
            cells = "".join(f"{s['calls_per_workspace'].get(key, {}).get(call, 0):>8}" for s in ran)
            lines.append(f"    {call[:41]:<43}{cells}")
    return lines


def render(doc: dict[str, Any]) -> str:
    sizes = doc["sizes"]
    lines = [
        f"scale curve on {doc['commit']} ({describe_machine(doc['machine'])}); "
        "each size on a fresh stack, smallest first",
        *size_rows(sizes),
        "",
        *call_rows(sizes),
    ]
    r = ratio(sizes)
    largest = [s for s in sizes if not s.get("skipped")][-1:] or [None]
    if r is not None:
        lines.append(f"time per workspace 200/50: {r} (bar ≤ {BAR_RATIO})")
    if largest[0] is not None:
        pss = largest[0]["memory"]["peak_pss_mib"] / GIB
        lines.append(
            f"peak PSS at {largest[0]['workspaces']}: {pss:.2f} GiB (bar ≤ {BAR_PSS_GIB} GiB)"
        )
    for s in sizes:
        for error in s.get("errors", [])[:5]:
            lines.append(f"  {s['workspaces']}: {error}")
        stuck = s.get("stalled") or []
        if stuck:
            where: dict[str, int] = {}
            for item in stuck:
                where[item["stage"]] = where.get(item["stage"], 0) + 1
            lines.append(f"  {s['workspaces']}: unfinished at the cap, by stage: {where}")
    return "\n".join(lines)
