"""The required gate: DESIGN §4 after first provision, plugin install, a manual restart and
E2E_RESTARTS more restarts — each on a box proven to be the current one."""

from __future__ import annotations

import pytest

from e2e.harness.gate import GateContext, run_gate


@pytest.mark.gate
def test_template_survives_plugin_install_and_restarts(gate_ctx: GateContext) -> None:
    result = run_gate(gate_ctx)
    restarts = gate_ctx.settings.restarts
    labels = [v.label for v in result.verifications]
    assert labels[:2] == ["after first provision", "after plugin install"]
    assert len(labels) == 3 + restarts, labels
    identities = [v.identity for v in result.verifications[1:]]
    assert len(set(identities)) == len(identities), (
        f"a restart did not give a new box: {identities}"
    )
