"""What the gate must say for each fault switch (DESIGN §8), and how a run is judged.

Pure bookkeeping, no I/O: the runners produce an `Outcome`, `judge` compares it with the `Case`.
A product fault counts as caught only when the gate failed with a *diagnosis* (a
`VerificationFailed` naming the cause): a timeout or a crash on a product fault is a wrong
diagnosis, because that is exactly how the old gate hid the historical bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["product", "benign", "control"]

HISTORICAL = "restart-drops-template"
STUB_DIAGNOSIS = "config.yaml is the 218-byte stub; prompts missing"

# fault → phrases the failure message must contain (the cause, not just "something differs")
PRODUCT_DIAGNOSES: dict[str, tuple[str, ...]] = {
    HISTORICAL: (f"template: {STUB_DIAGNOSIS}",),
    "reconcile-drops-template": (f"template: {STUB_DIAGNOSIS}",),
    "drop-prompts": ("template: prompts missing",),
    "no-allowlist": ("user/agent files changed: /configs/CLAUDE.md", "(template default)"),
    "fresh-volume": ("user/agent files lost:",),
    "plugin-lost": ("plugin seo-all is installed but /configs/plugins/seo-all/ is empty",),
}
BENIGN_FAULTS: tuple[str, ...] = (
    "late-reconcile",
    "slow-boot",
    "ssm-delay",
    "aws-throttle",
    "platform-5xx",
)
DIAGNOSED_ERROR = "VerificationFailed"  # the harness's "DESIGN §4 violated …" failure


@dataclass(frozen=True)
class Case:
    """One row of the kill matrix: the faults a stack runs with and what the gate must say."""

    faults: tuple[str, ...]
    kind: Kind
    diagnosis: tuple[str, ...] = ()  # product: phrases the failure must contain

    @property
    def name(self) -> str:
        return ",".join(self.faults) or "(none)"

    @property
    def expected(self) -> str:
        return "red: " + " + ".join(self.diagnosis) if self.kind == "product" else "green"


def matrix_cases() -> list[Case]:
    """Every fault switch once, the no-fault control, and the race that made the old gate flap
    (the reconcile drop firing late) — product faults first, historical bug at the top."""
    product = sorted(PRODUCT_DIAGNOSES, key=lambda f: (f != HISTORICAL, f))
    cases = [Case((f,), "product", PRODUCT_DIAGNOSES[f]) for f in product]
    cases.append(
        Case(
            ("reconcile-drops-template", "late-reconcile"),
            "product",
            PRODUCT_DIAGNOSES["reconcile-drops-template"],
        )
    )
    cases += [Case((f,), "benign") for f in BENIGN_FAULTS]
    cases.append(Case(tuple(BENIGN_FAULTS), "benign"))  # all at once: their interplay too
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
        if outcome.error_type != DIAGNOSED_ERROR:
            return WRONG_DIAGNOSIS
        missing = [p for p in case.diagnosis if p not in outcome.message]
        return WRONG_DIAGNOSIS if missing else CAUGHT
    if outcome.error_type is not None:
        return FALSE_ALARM
    if outcome.leaks:
        return LEAKED
    return GREEN
