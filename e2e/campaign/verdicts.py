"""What the gate must say for each fault switch (fixtures/faults.yaml), and how a run is judged.

Pure bookkeeping, no I/O: the runners produce an `Outcome`, `judge` compares it with the `Case`.
A product fault counts as caught only when the gate failed with a *diagnosis* (a
`VerificationFailed` naming the cause): a timeout or a crash on a product fault is a wrong
diagnosis, because that is exactly how the old gate hid the historical bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from e2e.harness.faults import BENIGN, FAULTS, PRODUCT
from e2e.harness.fixture import TemplateFixture
from e2e.harness.settings import FIXTURES, TEMPLATE_FIXTURE

Kind = Literal["product", "benign", "control"]

HISTORICAL = "restart-drops-template"
DIAGNOSED_ERRORS = frozenset({"VerificationFailed"})  # the harness's "invariant violated …"


@dataclass(frozen=True)
class Case:
    """One row of the kill matrix: the faults a stack runs with and what the gate must say."""

    faults: tuple[str, ...]
    kind: Kind
    diagnosis: tuple[str, ...] = ()  # product: phrases the failure must contain
    fixture: str | None = None  # the template the row needs (fixtures/templates/<name>)

    @property
    def name(self) -> str:
        return ",".join(self.faults) or "(none)"

    @property
    def expected(self) -> str:
        return "red: " + " + ".join(self.diagnosis) if self.kind == "product" else "green"


def _product_case(faults: tuple[str, ...], plugin: str) -> Case:
    """The row of a product fault (the first of `faults`), its diagnosis filled in from the
    template fixture the row runs with."""
    fault = FAULTS[faults[0]]
    directory = FIXTURES / "templates" / (fault.fixture or TEMPLATE_FIXTURE.name)
    words = fault.expected_words(TemplateFixture.from_dir(directory), plugin)
    return Case(faults, "product", tuple(words), fault.fixture)


def matrix_cases(plugin: str = "seo-all") -> list[Case]:
    """Every fault switch once, the no-fault control, and the race that made the old gate flap
    (the reconcile drop firing late) — product faults first, historical bug at the top."""
    product = sorted(PRODUCT, key=lambda f: (f != HISTORICAL, f))
    cases = [_product_case((f,), plugin) for f in product]
    cases.append(_product_case(("reconcile-drops-template", "late-reconcile"), plugin))
    cases += [Case((f,), "benign") for f in BENIGN]
    cases.append(Case(tuple(BENIGN), "benign"))  # all at once: their interplay too
    cases.append(Case((), "control"))
    return cases


def select_cases(cases: list[Case], names: list[str]) -> list[Case]:
    """The cases named (`restart-drops-template`, `(none)`, `a,b`); unknown names are an error,
    so a typo never runs an empty matrix that passes."""
    by_name = {c.name: c for c in cases}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown matrix case(s) {unknown}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]


@dataclass
class Outcome:
    """What one gate run did: green, or the exception it raised."""

    error_type: str | None = None  # None: the gate passed
    message: str = ""
    diagnosis: str = ""  # one line: where and what (the findings' headlines)
    seconds: float = 0.0  # run_gate wall time
    stack_start_s: float = 0.0
    leaks: tuple[str, ...] = ()

    @property
    def got(self) -> str:
        return "green" if self.error_type is None else "red"


# verdicts: the first two are success, the rest fail the campaign
CAUGHT = "caught"
GREEN = "green"
SURVIVED = "SURVIVED"
WRONG_DIAGNOSIS = "WRONG DIAGNOSIS"
FALSE_ALARM = "FALSE ALARM"
LEAKED = "LEAKED"
PASSING_VERDICTS = frozenset({CAUGHT, GREEN})


def judge(case: Case, outcome: Outcome) -> str:
    """The verdict of one run against its case."""
    if case.kind == "product":
        if outcome.error_type is None:
            return SURVIVED
        if outcome.error_type not in DIAGNOSED_ERRORS:
            return WRONG_DIAGNOSIS
        missing = [p for p in case.diagnosis if p not in outcome.message]
        return WRONG_DIAGNOSIS if missing else CAUGHT
    if outcome.error_type is not None:
        return FALSE_ALARM
    if outcome.leaks:
        return LEAKED
    return GREEN
