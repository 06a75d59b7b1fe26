"""The kill matrix's expected-verdict table and its judge (no stacks: pure bookkeeping)."""

from __future__ import annotations

import pytest

from e2e.campaign.runner import diagnosis_of
from e2e.campaign.verdicts import (
    BENIGN_FAULTS,
    CAUGHT,
    FALSE_ALARM,
    GREEN,
    HISTORICAL,
    LEAKED,
    PRODUCT_DIAGNOSES,
    SURVIVED,
    WRONG_DIAGNOSIS,
    Case,
    Outcome,
    judge,
    matrix_cases,
    select_cases,
)
from e2e.harness.identity import BoxIdentity
from e2e.harness.manifest import manifest_of_bytes
from e2e.harness.settings import TEMPLATE_FIXTURE
from e2e.harness.verify import (
    CONFIGS,
    WORKSPACE,
    BoxReading,
    Expected,
    TemplateFixture,
    VerificationFailed,
    decide,
)
from e2e.harness.waits import WaitTimeout
from reference.config import KNOWN_FAULTS


def test_every_fault_switch_of_the_stack_has_exactly_one_single_fault_row() -> None:
    single = [c.faults[0] for c in matrix_cases() if len(c.faults) == 1]
    assert sorted(single) == sorted(KNOWN_FAULTS)
    assert set(PRODUCT_DIAGNOSES) | set(BENIGN_FAULTS) == set(KNOWN_FAULTS)
    assert not set(PRODUCT_DIAGNOSES) & set(BENIGN_FAULTS)


def test_matrix_starts_with_the_historical_bug_and_has_a_no_fault_control() -> None:
    cases = matrix_cases()
    assert cases[0].faults == (HISTORICAL,)
    assert "218-byte stub; prompts missing" in cases[0].expected
    controls = [c for c in cases if c.kind == "control"]
    assert [c.name for c in controls] == ["(none)"] and controls[0].expected == "green"
    assert all(c.diagnosis for c in cases if c.kind == "product")


def test_select_cases_refuses_unknown_names_instead_of_running_nothing() -> None:
    cases = matrix_cases()
    assert [c.name for c in select_cases(cases, ["(none)", HISTORICAL])] == ["(none)", HISTORICAL]
    with pytest.raises(ValueError, match="restart-drop-template"):
        select_cases(cases, ["restart-drop-template"])


PRODUCT = Case((HISTORICAL,), "product", PRODUCT_DIAGNOSES[HISTORICAL])
BENIGN = Case(("ssm-delay",), "benign")


def _red(error_type: str, message: str) -> Outcome:
    return Outcome(error_type=error_type, message=message, diagnosis=message[:80])


@pytest.mark.parametrize(
    ("case", "outcome", "verdict"),
    [
        (PRODUCT, Outcome(), SURVIVED),
        (
            PRODUCT,
            _red(
                "VerificationFailed",
                "  template: config.yaml is the 218-byte stub; prompts missing (6 of 6)",
            ),
            CAUGHT,
        ),
        # a timeout is how the old gate reported the historical bug: not a diagnosis
        (
            PRODUCT,
            _red("WaitTimeout", "timed out waiting for online; last: failed"),
            WRONG_DIAGNOSIS,
        ),
        (PRODUCT, _red("VerificationFailed", "  template: config.yaml missing"), WRONG_DIAGNOSIS),
        (BENIGN, Outcome(), GREEN),
        (BENIGN, _red("WaitTimeout", "timed out"), FALSE_ALARM),
        (BENIGN, Outcome(leaks=("volume vol-1",)), LEAKED),
        (Case((), "control"), _red("VerificationFailed", "x"), FALSE_ALARM),
    ],
)
def test_judge(case: Case, outcome: Outcome, verdict: str) -> None:
    assert judge(case, outcome) == verdict


def _stub_failure() -> VerificationFailed:
    """The harness's real decision on a box that booted on the 218-byte stub."""
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    configs = manifest_of_bytes(CONFIGS, {"config.yaml": b"#" * 218, "CLAUDE.md": b"x"})
    reading = BoxReading(BoxIdentity("i-0abc", 2), configs, manifest_of_bytes(WORKSPACE, {}))
    verification = decide("after manual restart 1", reading, Expected(fixture), [], lambda _: None)
    assert not verification.ok
    return VerificationFailed(verification, verification.message("ws-1"))


def test_the_historical_phrase_is_what_the_harness_really_says_on_the_stub() -> None:
    failure = _stub_failure()
    outcome = _red(type(failure).__name__, str(failure))
    assert judge(PRODUCT, outcome) == CAUGHT
    assert diagnosis_of(failure) == (
        "after manual restart 1: template: config.yaml is the 218-byte stub; "
        "prompts missing (6 of 6)"
    )


def test_diagnosis_of_anything_else_names_the_type_and_first_line() -> None:
    exc = WaitTimeout("ws-1: online after create: timed out after 30s\nlast seen: failed")
    assert diagnosis_of(exc) == "WaitTimeout: ws-1: online after create: timed out after 30s"
