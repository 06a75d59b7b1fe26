"""The gate's outcome must not depend on timing: restarts that coalesce, a reconcile restart
that never comes. (Late reconcile is covered with the benign faults in test_fault_proofs.py.)"""

from __future__ import annotations

from e2e.harness import report
from e2e.harness.gate import (
    GateContext,
    GateResult,
    provision,
    run_gate,
    seed_and_snapshot,
    user_files,
)
from e2e.harness.gate import verify as verify_step
from e2e.harness.verify import TemplateFixture
from e2e.harness.workspace import events_after


def test_gate_passes_when_no_reconcile_restart_ever_comes(gate_ctx: GateContext) -> None:
    """A template that declares no plugins gives the platform nothing to reconcile."""
    fixture = TemplateFixture.from_dir(gate_ctx.template_dir)
    config = fixture.files["config.yaml"].decode()
    fixture.files["config.yaml"] = config.replace(
        "plugins:\n  - seo-all\n", "plugins: []\n"
    ).encode()
    assert fixture.declared_plugins() == []
    result = run_gate(gate_ctx, restarts=0, purpose="no-reconcile", fixture=fixture)
    events = result.workspace.events()
    reasons = [
        (e.get("payload") or {}).get("reason")
        for e in events
        if e.get("type") == "WORKSPACE_RESTARTING"
    ]
    assert "plugin_reconcile" not in reasons, reasons


def test_triggers_during_a_restart_coalesce_and_the_last_box_has_everything(
    gate_ctx: GateContext,
) -> None:
    """Restart, then restart again while the first runs: the fresh box we verify must be the one
    after *both* triggers (contract: a trigger during a restart coalesces into one more)."""
    ws, expected = provision(gate_ctx, "coalesce")
    result = GateResult(ws)
    seed_and_snapshot(ws, expected, user_files(f"{gate_ctx.settings.run_id}-coalesce"))
    ws.wait_stable("stable before the double restart")
    marker = ws.mark()
    with report.step("two manual restarts back to back"):
        ws.platform.restart(ws.id)
        ws.platform.restart(ws.id)
        announced = ws.restart_ids(marker)
        fresh = ws.wait_fresh_box(marker, "double restart", restart_ids_at_trigger=announced)
    restarts = [
        e for e in events_after(ws.events(), marker) if e.get("type") == "WORKSPACE_RESTARTING"
    ]
    assert 1 <= len(restarts) <= 2, report.timeline(restarts)
    if marker.identity and marker.identity.generation is not None and fresh.generation:
        assert fresh.generation == marker.identity.generation + len(restarts)
    verify_step(ws, expected, "after two back-to-back restarts", result)
    ws.stats.restarts_verified += len(restarts)
