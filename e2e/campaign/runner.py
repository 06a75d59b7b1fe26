"""Run the gate, unchanged, against a reference stack started with fault switches.

The stack is a subprocess (`e2e.targets.session.start_embedded`); every gate run cleans up its
workspace and the account is leak-checked before the next one, so runs on a shared stack stay
independent. Exceptions become an `Outcome` — the campaign judges them, it never retries them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from e2e.campaign.verdicts import Outcome
from e2e.harness.cleanup import Cleanup
from e2e.harness.fixture import TemplateFixture
from e2e.harness.gate import GateContext, run_gate
from e2e.harness.report import redact
from e2e.harness.settings import FIXTURES, RunSettings
from e2e.harness.verify import VerificationFailed
from e2e.targets.forkserver import ForkServer
from e2e.targets.session import StackHandle, start_embedded

log = logging.getLogger("e2e.campaign")
MESSAGE_CAP = 4000


@contextmanager
def fault_stack(
    settings: RunSettings,
    faults: Sequence[str],
    label: str,
    forkserver: ForkServer | None = None,
) -> Iterator[StackHandle]:
    """A private stack with exactly these REFERENCE_FAULTS (forked by `forkserver` when
    given); stopped on every exit path."""
    handle = start_embedded(
        settings, {"REFERENCE_FAULTS": ",".join(faults)}, label=label, forkserver=forkserver
    )
    try:
        yield handle
    finally:
        handle.close()


def diagnosis_of(exc: BaseException) -> str:
    """One line saying where and what: the verification's label and its findings' headlines,
    or, for anything that is not a diagnosis, the exception type and its first line."""
    if isinstance(exc, VerificationFailed):
        findings = "; ".join(f"{f.section}: {f.headline}" for f in exc.verification.findings)
        return redact(f"{exc.verification.label}: {findings}")
    first = redact(str(exc)).strip().splitlines()[:1] or [""]
    return f"{type(exc).__name__}: {first[0]}"[:300]


def gate_once(handle: StackHandle, purpose: str, fixture: str | None = None) -> Outcome:
    """One gate run on `handle`'s stack (with the template `fixtures/templates/<fixture>` when
    given): its workspace is removed and the account checked for leaks before returning,
    whatever the gate said."""
    ctx = GateContext(handle.platform, handle.aws, handle.settings, Cleanup(), stack=handle)
    template = TemplateFixture.from_dir(FIXTURES / "templates" / fixture) if fixture else None
    outcome = Outcome(stack_start_s=handle.stack.start_s if handle.stack else 0.0)
    started = time.perf_counter()
    try:
        result = run_gate(ctx, purpose=purpose, fixture=template)
        labels = [v.label for v in result.verifications]
        outcome.message = f"gate passed: {len(labels)} verifications ({', '.join(labels)})"
    except Exception as exc:
        outcome.error_type = type(exc).__name__
        outcome.message = redact(str(exc))[:MESSAGE_CAP]
        outcome.diagnosis = diagnosis_of(exc)
    finally:
        outcome.seconds = round(time.perf_counter() - started, 3)
        try:
            ctx.cleanup.run()
        except Exception as exc:  # a cleanup failure is a finding too, never swallowed
            outcome.leaks += (f"cleanup: {exc}",)
    outcome.leaks += tuple(handle.check_leaks())
    return outcome
