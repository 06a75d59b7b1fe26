"""Crash recovery: kill the agent over SSM; the platform notices (WORKSPACE_OFFLINE), restarts
the workspace on its own, and the fresh box satisfies the invariant like after any restart."""

from __future__ import annotations

from e2e.harness import triggers
from e2e.harness.events import OFFLINE, PROVISIONING, of_type
from e2e.harness.gate import GateContext, GateResult, provision, seed_and_snapshot, user_files
from e2e.harness.gate import verify as verify_step


def test_agent_crash_is_recovered_with_template_and_user_files_intact(
    gate_ctx: GateContext,
) -> None:
    ws, expected = provision(gate_ctx, "crash")
    result = GateResult(ws)
    verify_step(ws, expected, "after first provision", result)
    seed_and_snapshot(ws, expected, user_files(f"{gate_ctx.settings.run_id}-crash"))
    marker = ws.mark()
    after = triggers.kill_agent(ws, gate_ctx.settings.agent_pattern)
    assert marker.identity is not None and after.instance_id != marker.identity.instance_id
    since = ws.events.since(marker.events)
    offline, provisioning = of_type(since, OFFLINE), of_type(since, PROVISIONING)
    assert offline and provisioning, [e.event_type for e in since]
    assert offline[0].created_at <= provisioning[-1].created_at, "restart came before offline"
    verify_step(ws, expected, "after crash recovery", result)
    ws.stats.restarts_verified += 1
