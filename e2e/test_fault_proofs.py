"""A check that cannot fail is a defect: the gate, unchanged, against reference stacks with
fault switches. Product faults must make it fail *naming the cause*; benign faults must not
make it fail. Reference-only (fault switches exist only there): skipped on staging."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from e2e.harness.gate import GateContext, run_gate
from e2e.harness.verify import VerificationFailed

pytestmark = pytest.mark.reference_only

# fault → words the failure must contain (the diagnosis, not just "something differs")
PRODUCT_FAULTS: dict[str, list[str]] = {
    "restart-drops-template": [
        "template: config.yaml is the 218-byte stub; prompts missing (6 of 6)",
        "config.yaml: differs: expected 692 bytes",
        "actual 218 bytes",
        "prompts/system.md: missing (expected 807 bytes",
    ],
    "reconcile-drops-template": ["config.yaml is the 218-byte stub; prompts missing (6 of 6)"],
    "drop-prompts": ["template: prompts missing (6 of 6)"],
    "no-allowlist": ["user/agent files changed: /configs/CLAUDE.md", "(template default)"],
    "fresh-volume": ["user/agent files lost: /configs/.claude/settings.local.json"],
    "plugin-lost": ["plugin seo-all is installed but /configs/plugins/seo-all/ is empty"],
}
BENIGN_FAULTS = ["late-reconcile", "slow-boot", "ssm-delay", "aws-throttle", "platform-5xx"]


def faults_on(faults: str, label: str) -> pytest.MarkDecorator:
    """The private stack a proof runs against (started ahead of time by the session)."""
    return pytest.mark.stack_env({"REFERENCE_FAULTS": faults}, label)


def _product_param(fault: str) -> object:
    return pytest.param(fault, marks=faults_on(fault, f"stack-{fault}"))


@pytest.mark.parametrize("fault", [_product_param(f) for f in sorted(PRODUCT_FAULTS)])
def test_gate_fails_on_product_fault_naming_the_cause(
    fault: str, own_stack: Callable[..., GateContext]
) -> None:
    ctx = own_stack()
    with pytest.raises(VerificationFailed) as info:
        run_gate(ctx, restarts=0, purpose=fault)
    message = str(info.value)
    missing = [words for words in PRODUCT_FAULTS[fault] if words not in message]
    assert not missing, f"diagnosis lacks {missing}:\n{message}"


def _benign_param(fault: str) -> object:
    return pytest.param(fault, marks=faults_on(fault, f"stack-{fault}"))


@pytest.mark.parametrize("fault", [_benign_param(f) for f in BENIGN_FAULTS])
def test_gate_passes_despite_benign_fault(
    fault: str, own_stack: Callable[..., GateContext]
) -> None:
    """Late reconcile, slow boots, SSM invocations first missing then pending, throttled AWS
    calls, 503s on platform reads: each alone must leave the gate green. One stack per fault,
    so a failure names the fault and the suite spreads them over the workers; every benign
    fault at once runs in the nightly kill matrix and, in random mixes, in the soak."""
    ctx = own_stack()
    result = run_gate(ctx, restarts=0, purpose=f"benign-{fault}")
    assert len(result.verifications) == 3


@faults_on("reconcile-drops-template,late-reconcile", "stack-late-drop")
def test_reconcile_drop_is_caught_even_when_the_reconcile_fires_late(
    own_stack: Callable[..., GateContext],
) -> None:
    ctx = own_stack()
    with pytest.raises(VerificationFailed, match=r"config\.yaml is the 218-byte stub"):
        run_gate(ctx, restarts=0, purpose="late-drop")
