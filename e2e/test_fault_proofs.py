"""A check that cannot fail is a defect: the gate, unchanged, against reference stacks with
fault switches (fixtures/faults.yaml). Product faults must make it fail naming the cause;
benign faults must leave it green. Reference-only: skipped on staging."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from e2e.harness.faults import BENIGN, FAULTS, PRODUCT
from e2e.harness.fixture import TemplateFixture
from e2e.harness.gate import GateContext, run_gate
from e2e.harness.settings import FIXTURES

pytestmark = pytest.mark.reference_only


def faults_on(faults: str, label: str) -> pytest.MarkDecorator:
    """The private stack a proof runs against (started ahead of time by the session)."""
    return pytest.mark.stack_env({"REFERENCE_FAULTS": faults}, label)


def _param(fault: str) -> object:
    return pytest.param(fault, marks=faults_on(fault, f"stack-{fault}"))


def _fixture(ctx: GateContext, fault: str) -> TemplateFixture:
    needed = FAULTS[fault].fixture
    if needed:
        return TemplateFixture.from_dir(FIXTURES / "templates" / needed)
    return ctx.fixture()


@pytest.mark.parametrize("fault", [_param(f) for f in PRODUCT])
def test_gate_fails_on_product_fault_naming_the_cause(
    fault: str, own_stack: Callable[..., GateContext]
) -> None:
    ctx = own_stack()
    fixture = _fixture(ctx, fault)
    with pytest.raises(AssertionError) as info:
        run_gate(ctx, restarts=1, purpose=fault, fixture=fixture)
    message = str(info.value)
    words = FAULTS[fault].expected_words(fixture, ctx.settings.plugin_name)
    missing = [w for w in words if w not in message]
    assert not missing, f"diagnosis lacks {missing}:\n{message}"


@pytest.mark.parametrize("fault", [_param(f) for f in BENIGN])
def test_gate_passes_despite_benign_fault(
    fault: str, own_stack: Callable[..., GateContext]
) -> None:
    """Each benign fault alone leaves the gate green; one stack per fault, so a failure
    names it (all at once: the nightly kill matrix; random mixes: the soak)."""
    ctx = own_stack()
    result = run_gate(ctx, restarts=0, purpose=f"benign-{fault}")
    assert [v.label for v in result.verifications][-1] == "after manual restart 1"
    if fault == "long-restart-window":  # the install's restart is dropped, and said so
        assert not result.install_restarted
        assert any("dropped" in note for note in result.workspace.stats.notes)


@faults_on("reconcile-drops-template,late-reconcile", "stack-late-drop")
def test_reconcile_drop_is_caught_even_when_the_reconcile_fires_late(
    own_stack: Callable[..., GateContext],
) -> None:
    ctx = own_stack()
    with pytest.raises(AssertionError, match=r"config\.yaml is the \d+-byte stub"):
        run_gate(ctx, restarts=0, purpose="late-drop")
