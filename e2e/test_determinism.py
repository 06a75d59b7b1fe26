"""The gate's outcome must not depend on timing, and each promise of the product about
restarts is asserted so that it can fail: manual restarts queue (two triggers, two cycles),
automatic ones coalesce to at most two cycles, and a reconcile restart may never come.
(Late reconcile and a dropped install restart are benign faults in test_fault_proofs.py.)"""

from __future__ import annotations

from e2e.harness import report, settle, triggers
from e2e.harness.events import PROVISIONING, of_type
from e2e.harness.gate import (
    GateContext,
    GateResult,
    provision,
    run_gate,
    seed_and_snapshot,
    user_files,
)
from e2e.harness.gate import verify as verify_step


def test_gate_passes_when_no_reconcile_restart_ever_comes(gate_ctx: GateContext) -> None:
    """A template that declares no plugins gives the platform nothing to reconcile: the first
    box verified is the first box the workspace ever had."""
    fixture = gate_ctx.fixture().with_plugins([])
    assert fixture.declared_plugins() == []
    result = run_gate(gate_ctx, restarts=0, purpose="no-reconcile", fixture=fixture)
    first_box = next(iter(result.workspace.seen_instances))
    assert result.verifications[0].identity.instance_id == first_box


def test_two_manual_restarts_run_two_full_cycles(gate_ctx: GateContext) -> None:
    """Manual restarts serialise: a second one queues and runs its own cycle. The box verified
    is the one after both, and exactly two cycles ran."""
    ws, expected = provision(gate_ctx, "two-manual")
    result = GateResult(ws)
    seed_and_snapshot(ws, expected, user_files(f"{gate_ctx.settings.run_id}-two-manual"))
    marker = triggers.ready_marker(ws, "two manual restarts")
    final = triggers.restart(ws, times=2)
    since = ws.events.since(marker.events)
    assert len(of_type(since, PROVISIONING)) == 2, report.timeline(since)
    launched = ws.launched_since(marker)
    assert len(launched) == 2 and launched[-1] == final.instance_id, launched
    verify_step(ws, expected, "after two manual restarts", result)
    ws.stats.restarts_verified += 2


def test_automatic_restarts_coalesce_to_at_most_two_cycles(gate_ctx: GateContext) -> None:
    """Two plugin installs back to back: the first asks for an automatic restart outside the
    window (a cycle must run); the second is dropped or queued — never a third cycle. (The
    second may also find its box already being replaced: the product then answers 502 and asks
    for no restart at all.)"""
    ws, expected = provision(gate_ctx, "coalesce")
    result = GateResult(ws)
    seed_and_snapshot(ws, expected, user_files(f"{gate_ctx.settings.run_id}-coalesce"))
    source, name = gate_ctx.settings.plugin_source, gate_ctx.settings.plugin_name
    marker = triggers.ready_marker(ws, "two plugin installs")
    with report.step("two plugin installs back to back"):
        ws.platform.install_plugin(ws.id, source)
        second_answer = ws.platform.install_plugin_response(ws.id, source)
        assert second_answer.status_code in (200, 502), second_answer.text
        first = settle.restart_or_dropped(ws, marker, "first plugin install")
        assert first is not None, "the first install's automatic restart never came"
        second = settle.restart_or_dropped(ws, ws.mark(), "a queued second cycle")
    cycles = len(of_type(ws.events.since(marker.events), PROVISIONING))
    assert 1 <= cycles <= 2 and (second is None) == (cycles == 1), (cycles, second)
    expected.expect_plugin(name, byte_exact=source.startswith("local://"))
    verify_step(ws, expected, "after two plugin installs", result)
    ws.stats.restarts_verified += cycles
