"""Benchmark of the reference platform + control plane on the embedded stack (it measures only).

Runs `python -m reference serve --json` as a subprocess (platform, CP, moto, fleet, real boxes)
and drives it over HTTP like the harness does. Measures:

- create → online: POST /workspaces until GET shows `online` (client side, polling every 5 ms)
  and the server's own WORKSPACE_PROVISIONING → WORKSPACE_ONLINE event gap;
- restart → online: POST /restart until `online` at the next generation on a fresh instance;
- burst: N workspaces created at once; all must come online with no error, no failed status and
  no WORKSPACE_OFFLINE (a false crash detection under load).

    .venv/bin/python bench/bench_platform.py [--creates 10] [--restarts 10] [--burst 50]

Writes reports/bench/platform.json (budgets: create and restart medians ≤ 0.5 s; burst: all
online, zero errors) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reference.platform.testing import ServedStack  # noqa: E402

TEMPLATE = {
    "config.yaml": "name: bench\nrole: benchmark\nprompt_files:\n  - prompts/system.md\n",
    "prompts/system.md": "You are a benchmark.\n" * 50,
}
POLL_S = 0.005


def summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_s": round(statistics.median(values), 4),
        "p90_s": round(ordered[int(0.9 * (len(ordered) - 1))], 4),
        "max_s": round(ordered[-1], 4),
        "all_s": [round(v, 4) for v in values],
    }


def wait_online(client: httpx.Client, ws_id: str, generation: int, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = client.get(f"/workspaces/{ws_id}")
        if answer.status_code == 200:
            last = answer.json()
            if last["status"] == "online" and last["generation"] >= generation:
                return last
            if last["status"] == "failed":
                raise RuntimeError(f"{ws_id} failed: {last.get('last_error')}")
        time.sleep(POLL_S)
    raise TimeoutError(f"{ws_id} not online at generation {generation}; last seen {last}")


def event_gap(client: httpx.Client, ws_id: str, start: str, end: str, after: int = 0) -> float:
    events = [e for e in client.get(f"/events/{ws_id}").json() if e["id"] > after]
    t0 = next(e for e in events if e["type"] == start)["created_at"]
    t1 = next(e for e in events if e["type"] == end)["created_at"]
    return (datetime.fromisoformat(t1) - datetime.fromisoformat(t0)).total_seconds()


def bench_creates(client: httpx.Client, count: int) -> dict[str, Any]:
    client_side, server_side = [], []
    for i in range(count):
        started = time.monotonic()
        answer = client.post("/workspaces", json={"name": f"create-{i}", "template": "bench"})
        answer.raise_for_status()
        ws_id = answer.json()["id"]
        wait_online(client, ws_id, 1)
        client_side.append(time.monotonic() - started)
        server_side.append(event_gap(client, ws_id, "WORKSPACE_PROVISIONING", "WORKSPACE_ONLINE"))
    return {"client": summary(client_side), "server_events": summary(server_side)}


def bench_restarts(client: httpx.Client, count: int) -> dict[str, Any]:
    answer = client.post("/workspaces", json={"name": "restarts", "template": "bench"})
    ws_id = answer.json()["id"]
    ws = wait_online(client, ws_id, 1)
    client_side, server_side = [], []
    for _ in range(count):
        last_event = client.get(f"/events/{ws_id}").json()[-1]["id"]
        started = time.monotonic()
        client.post(f"/workspaces/{ws_id}/restart", json={}).raise_for_status()
        new = wait_online(client, ws_id, ws["generation"] + 1)
        client_side.append(time.monotonic() - started)
        assert new["instance_id"] != ws["instance_id"], "restart did not give a fresh instance"
        server_side.append(
            event_gap(client, ws_id, "WORKSPACE_RESTARTING", "WORKSPACE_ONLINE", last_event)
        )
        ws = new
    return {"client": summary(client_side), "server_events": summary(server_side)}


def bench_burst(client: httpx.Client, count: int) -> dict[str, Any]:
    started = time.monotonic()

    def create(i: int) -> tuple[int, str]:
        answer = client.post("/workspaces", json={"name": f"burst-{i}", "template": "bench"})
        return answer.status_code, answer.json().get("id", answer.text)

    with ThreadPoolExecutor(count) as pool:
        created = list(pool.map(create, range(count)))
    errors = [f"create answered {code}: {body}" for code, body in created if code != 201]
    ids = [body for code, body in created if code == 201]
    online_after: list[float] = []
    with ThreadPoolExecutor(16) as pool:
        for ws_id, outcome in zip(ids, pool.map(lambda w: _wait_safe(client, w), ids), strict=True):
            if isinstance(outcome, str):
                errors.append(f"{ws_id}: {outcome}")
            else:
                online_after.append(outcome - started)
    offline = []
    for ws_id in ids:
        kinds = [e["type"] for e in client.get(f"/events/{ws_id}").json()]
        if "WORKSPACE_OFFLINE" in kinds or "WORKSPACE_PROVISION_FAILED" in kinds:
            offline.append({ws_id: kinds})
    return {
        "workspaces": count,
        "online": len(online_after),
        "errors": errors,
        "offline_or_failed_events": offline,
        "all_online_after_s": round(max(online_after), 3) if online_after else None,
        "online_after": summary(online_after) if online_after else None,
    }


def _wait_safe(client: httpx.Client, ws_id: str) -> float | str:
    try:
        wait_online(client, ws_id, 1, timeout_s=120)
    except (RuntimeError, TimeoutError) as exc:
        return str(exc)
    return time.monotonic()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=10)
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench" / "platform.json")
    args = parser.parse_args()
    result: dict[str, Any] = {"started": datetime.now().isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="bench-platform-") as tmp:
        state = Path(tmp) / "state"
        with ServedStack(state) as stack, stack.admin() as client:
            client.timeout = httpx.Timeout(60)
            imported = client.post("/templates/import", json={"name": "bench", "files": TEMPLATE})
            imported.raise_for_status()
            warm = client.post("/workspaces", json={"name": "warm-up", "template": "bench"})
            wait_online(client, warm.json()["id"], 1)
            result["create_to_online"] = bench_creates(client, args.creates)
            result["restart_to_online"] = bench_restarts(client, args.restarts)
        with ServedStack(Path(tmp) / "burst-state") as stack, stack.admin() as client:
            client.post("/templates/import", json={"name": "bench", "files": TEMPLATE})
            result["burst"] = bench_burst(client, args.burst)
    result["budgets"] = {
        "create_median_le_0_5_s": result["create_to_online"]["client"]["median_s"] <= 0.5,
        "restart_median_le_0_5_s": result["restart_to_online"]["client"]["median_s"] <= 0.5,
        "burst_all_online_no_error": result["burst"]["online"] == args.burst
        and not result["burst"]["errors"]
        and not result["burst"]["offline_or_failed_events"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    c, r, b = result["create_to_online"], result["restart_to_online"], result["burst"]
    cm, ce = c["client"]["median_s"], c["server_events"]["median_s"]
    rm, re_ = r["client"]["median_s"], r["server_events"]["median_s"]
    print(
        f"create→online median {cm:.3f}s (events {ce:.3f}s); "
        f"restart→online median {rm:.3f}s (events {re_:.3f}s); "
        f"burst {b['online']}/{b['workspaces']} online in {b['all_online_after_s']}s, "
        f"{len(b['errors'])} errors, {len(b['offline_or_failed_events'])} offline/failed"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
