"""The required gate: the invariant after first provision, plugin install, a manual restart and
E2E_RESTARTS more restarts — each on a box proven to be the current one."""

from __future__ import annotations

import pytest

from e2e.harness.gate import GateContext, run_gate


@pytest.mark.gate
def test_template_survives_plugin_install_and_restarts(gate_ctx: GateContext) -> None:
    result = run_gate(gate_ctx)
    restarts = gate_ctx.settings.restarts
    labels = [v.label for v in result.verifications]
    assert labels == [
        "after first provision",
        "after plugin install",
        *(f"after manual restart {n + 1}" for n in range(restarts + 1)),
    ]
    # every manual restart is a fresh box; the install's restart may have been dropped
    boxes = [v.identity for v in result.verifications[1:]]
    assert len(set(boxes)) == len(boxes), f"a manual restart did not give a new box: {boxes}"
    if result.install_restarted:
        assert result.verifications[1].identity != result.verifications[0].identity
