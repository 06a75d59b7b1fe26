"""campaign/verdicts.py: the kill matrix's rows (from the one fault table) and the judge. And
the link that makes the matrix mean something: for every product fault, the box that fault
leaves behind is decided by the harness's own decide(), and the words the table expects are
in the message the harness really writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.local_box import IDENTITY, LocalBox, seeded_box

from e2e.campaign.runner import diagnosis_of
from e2e.campaign.verdicts import (
    CAUGHT,
    FALSE_ALARM,
    GREEN,
    HISTORICAL,
    LEAKED,
    SURVIVED,
    WRONG_DIAGNOSIS,
    Case,
    Outcome,
    judge,
    matrix_cases,
    select_cases,
)
from e2e.harness.compare import STUB_CONFIG_SIZE
from e2e.harness.decide import decide
from e2e.harness.effects import plugin_files
from e2e.harness.faults import BENIGN, FAULTS, PRODUCT
from e2e.harness.fixture import CONFIGS, WORKSPACE, Expected
from e2e.harness.settings import FIXTURES, PLUGINS_FIXTURE, TEMPLATE_FIXTURE
from e2e.harness.verify import Verification, VerificationFailed
from e2e.harness.waits import WaitTimeout
from reference.box.plugin_effects import apply_plugin_effects
from reference.faults import KNOWN

LATE_PAIR = ("reconcile-drops-template", "late-reconcile")


def test_product_rows_first_then_the_late_drop_pair_benign_all_benign_and_control() -> None:
    cases = matrix_cases()
    kinds = [c.kind for c in cases]
    n = len(PRODUCT)
    assert kinds == ["product"] * (n + 1) + ["benign"] * (len(BENIGN) + 1) + ["control"]
    assert cases[0].faults == (HISTORICAL,)
    assert [c.faults[0] for c in cases[1:n]] == sorted(set(PRODUCT) - {HISTORICAL})
    assert cases[n].faults == LATE_PAIR
    assert [c.faults for c in cases[n + 1 : n + 1 + len(BENIGN)]] == [(f,) for f in BENIGN]
    assert cases[-2].faults == tuple(BENIGN)  # all at once: their interplay too
    assert cases[-1].faults == () and cases[-1].name == "(none)"
    assert len({c.name for c in cases}) == len(cases)


def test_every_switch_of_the_stack_has_exactly_one_single_fault_row() -> None:
    single = [c.faults[0] for c in matrix_cases() if len(c.faults) == 1]
    assert sorted(single) == sorted(KNOWN)


def test_product_rows_carry_their_filled_diagnosis_and_their_template() -> None:
    by_name = {c.name: c for c in matrix_cases("my-plugin")}
    assert by_name[HISTORICAL].expected == (
        f"red: template: config.yaml is the {STUB_CONFIG_SIZE}-byte stub; prompts missing (6 of 6)"
    )
    assert by_name["plugin-lost"].diagnosis == (
        "plugin my-plugin is installed but /configs/plugins/my-plugin/ is empty or missing",
    )
    assert by_name[",".join(LATE_PAIR)].diagnosis == by_name["reconcile-drops-template"].diagnosis
    for name, fault in FAULTS.items():
        assert by_name[name].fixture == fault.fixture
    assert all(c.diagnosis for c in by_name.values() if c.kind == "product")
    assert all(c.expected == "green" for c in by_name.values() if c.kind != "product")


def test_select_cases_refuses_unknown_names_instead_of_running_nothing() -> None:
    cases = matrix_cases()
    assert [c.name for c in select_cases(cases, ["(none)", HISTORICAL])] == ["(none)", HISTORICAL]
    with pytest.raises(ValueError, match="restart-drop-template"):
        select_cases(cases, ["restart-drop-template"])


PRODUCT_CASE = Case((HISTORICAL,), "product", ("config.yaml is the 218-byte stub",))
BENIGN_CASE = Case(("ssm-delay",), "benign")


def _red(error_type: str, message: str) -> Outcome:
    return Outcome(error_type=error_type, message=message, diagnosis=message[:80])


@pytest.mark.parametrize(
    ("case", "outcome", "verdict"),
    [
        (PRODUCT_CASE, Outcome(), SURVIVED),
        (
            PRODUCT_CASE,
            _red("VerificationFailed", "template: config.yaml is the 218-byte stub"),
            CAUGHT,
        ),
        # a timeout is how the old gate reported the historical bug: not a diagnosis
        (
            PRODUCT_CASE,
            _red("WaitTimeout", "timed out; config.yaml is the 218-byte stub"),
            WRONG_DIAGNOSIS,
        ),
        (
            PRODUCT_CASE,
            _red("VerificationFailed", "template: config.yaml missing"),
            WRONG_DIAGNOSIS,
        ),
        (PRODUCT_CASE, _red("ApiDrift", "API drift: GET /events/:id"), WRONG_DIAGNOSIS),
        (BENIGN_CASE, Outcome(), GREEN),
        (BENIGN_CASE, _red("WaitTimeout", "timed out"), FALSE_ALARM),
        (BENIGN_CASE, Outcome(leaks=("volume vol-1",)), LEAKED),
        (Case((), "control"), _red("VerificationFailed", "x"), FALSE_ALARM),
        (Case((), "control"), Outcome(), GREEN),
    ],
)
def test_judge(case: Case, outcome: Outcome, verdict: str) -> None:
    assert judge(case, outcome) == verdict


def test_diagnosis_of_anything_but_a_verification_names_the_type_and_first_line() -> None:
    exc = WaitTimeout("ws-1: online after create: not reached within 30.0s\nlast observed: failed")
    assert diagnosis_of(exc) == "WaitTimeout: ws-1: online after create: not reached within 30.0s"


# -- the table's words are the harness's words --------------------------------------------------

USER = {
    f"{CONFIGS}/CLAUDE.md": b"# My own CLAUDE.md\n\nBe brief.\n",
    f"{CONFIGS}/MEMORY.md": b"# Memory\n",
    f"{WORKSPACE}/notes.md": b"notes\n",
}
Breaker = Callable[[LocalBox, Expected], None]


def _stub(box: LocalBox, expected: Expected) -> None:
    for rel in expected.template.owned:
        (box.configs / rel).unlink()
    (box.configs / "config.yaml").write_bytes(b"# stub\n" + b"#" * (STUB_CONFIG_SIZE - 7))


def _drop_prompts(box: LocalBox, expected: Expected) -> None:
    for rel in expected.template.prompts:
        (box.configs / rel).unlink()


def _no_allowlist(box: LocalBox, expected: Expected) -> None:
    box.write({f"{CONFIGS}/CLAUDE.md": expected.template.files["CLAUDE.md"]})


def _fresh_volume(box: LocalBox, expected: Expected) -> None:
    for path in USER:
        box.local(path).unlink()


def _plugin_lost(box: LocalBox, expected: Expected) -> None:
    import shutil

    shutil.rmtree(box.configs / "plugins" / "seo-all")


def _rules_repeat(box: LocalBox, expected: Expected) -> None:
    apply_plugin_effects(box.configs, repeat_blocks=True)


def _rewrite(change: Callable[[str, bytes], bytes | None]) -> Breaker:
    def breaker(box: LocalBox, expected: Expected) -> None:
        for rel, data in expected.template.owned.items():
            new = change(rel, data)
            if new is None:
                (box.configs / rel).unlink()
            else:
                (box.configs / rel).write_bytes(new)

    return breaker


BREAK: dict[str, Breaker] = {
    "restart-drops-template": _stub,
    "reconcile-drops-template": _stub,
    "manual-restart-drops-template": _stub,
    "drop-prompts": _drop_prompts,
    "no-allowlist": _no_allowlist,
    "fresh-volume": _fresh_volume,
    "plugin-lost": _plugin_lost,
    "plugin-rules-repeat": _rules_repeat,
    "normalise-newlines": _rewrite(lambda rel, d: d.replace(b"\r\n", b"\n")),
    "add-final-newline": _rewrite(lambda rel, d: d if d.endswith(b"\n") else d + b"\n"),
    "drop-empty-files": _rewrite(lambda rel, d: d or None),
    "drop-non-ascii-names": _rewrite(lambda rel, d: d if rel.isascii() else None),
}


def test_every_product_fault_has_a_simulation_here() -> None:
    assert set(BREAK) == set(PRODUCT), "teach this test what the new fault leaves on a box"


@pytest.mark.parametrize("fault", PRODUCT)
def test_the_words_the_table_expects_are_what_the_harness_says(fault: str, tmp_path: Path) -> None:
    """A box as the fault leaves it (after the plugin was installed and the runtime applied
    it once), decided by the harness: the verdict is CAUGHT, with the table's own words."""
    template = FIXTURES / "templates" / (FAULTS[fault].fixture or TEMPLATE_FIXTURE.name)
    box, expected = seeded_box(tmp_path / "box", template, USER)
    plugin = plugin_files(PLUGINS_FIXTURE / "seo-all")
    assert plugin is not None
    box.put(f"{CONFIGS}/plugins/seo-all", plugin)
    apply_plugin_effects(box.configs)
    expected.expect_plugin("seo-all")
    assert decide("x", box.reading(), expected, box).findings == []  # the healthy box is clean

    BREAK[fault](box, expected)
    label = "after manual restart 1"
    reading = box.reading()
    decision = decide(label, reading, expected, box)
    verification = Verification(label, IDENTITY, reading, decision.findings, 0, decision.diffs)
    failure = VerificationFailed(verification, verification.message("e2e-r1-main-gate-1"))
    case = next(c for c in matrix_cases("seo-all") if c.faults == (fault,))
    outcome = Outcome(type(failure).__name__, str(failure), diagnosis_of(failure))
    missing = [w for w in case.diagnosis if w not in outcome.message]
    assert judge(case, outcome) == CAUGHT, f"missing {missing} in:\n{outcome.message}"
    assert outcome.diagnosis.startswith(f"{label}: ")
