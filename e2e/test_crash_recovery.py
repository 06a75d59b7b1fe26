"""Crash recovery: kill the agent over SSM; the platform notices (offline), restarts the
workspace on its own, and the fresh box satisfies DESIGN §4 like after any other restart."""

from __future__ import annotations

from e2e.harness.gate import GateContext, GateResult, provision, seed_and_snapshot, user_files
from e2e.harness.gate import verify as verify_step
from e2e.harness.workspace import events_after


def test_agent_crash_is_recovered_with_template_and_user_files_intact(
    gate_ctx: GateContext,
) -> None:
    ws, expected = provision(gate_ctx, "crash")
    result = GateResult(ws)
    verify_step(ws, expected, "after first provision", result)
    seed_and_snapshot(ws, expected, user_files(f"{gate_ctx.settings.run_id}-crash"))
    marker = ws.mark()
    before = marker.identity
    after = ws.kill_agent(gate_ctx.settings.agent_pattern)
    assert after != before
    recovery = [
        e for e in events_after(ws.events(), marker) if e.get("type") == "WORKSPACE_RESTARTING"
    ]
    reasons = {str((e.get("payload") or {}).get("reason")) for e in recovery}
    assert "crash_recovery" in reasons, f"restart reasons after the crash: {reasons}"
    verify_step(ws, expected, "after crash recovery", result)
    ws.stats.restarts_verified += 1
