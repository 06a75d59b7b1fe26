"""The self-hosted (docker) backend: a named config volume keeps /configs and restarts
re-deliver nothing on purpose. The same gate must hold. Reference-only: staging is SaaS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from e2e.harness.gate import GateContext, run_gate

pytestmark = pytest.mark.reference_only


@pytest.mark.stack_env({"REFERENCE_BACKEND": "docker"}, "stack-docker")
def test_gate_holds_on_the_docker_backend(own_stack: Callable[..., GateContext]) -> None:
    ctx = own_stack()
    result = run_gate(ctx, restarts=0, purpose="docker")
    assert [v.label for v in result.verifications][-1] == "after manual restart 1"
