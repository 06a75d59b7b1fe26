"""The report's failure categories (report/categories.json) sort real harness failures right:
product failures (stub config, template file differs, user file changed, plugin) apart from
infrastructure ones (timeouts, AWS, HTTP). Messages are built with the harness's own code, so a
change of wording there shows up here, not as a silently mis-sorted report.

Allure 3 matches `messageRegex` with JavaScript's RegExp.test (a search), first rule wins; the
patterns use only syntax that means the same in Python's `re.search`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from e2e.harness.compare import STUB_CONFIG_SIZE, Difference, template_headline, user_headline
from e2e.harness.manifest import Entry, Manifest
from e2e.harness.platform import PlatformError
from e2e.harness.ssm import BoxGone
from e2e.harness.verify import Finding, Verification, VerificationFailed
from e2e.harness.waits import WaitTimeout, wait_for

RULES = json.loads(
    (Path(__file__).resolve().parent.parent / "report" / "categories.json").read_text()
)
JS_ONLY = ("(?<", "(?P", "\\A", "\\Z", "(?i")


def category(exc: BaseException, status: str = "failed") -> str | None:
    """What Allure puts in statusDetails.message (`module.Class: text`), then the first rule."""
    message = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
    for rule in RULES:
        if status not in rule.get("matchedStatuses", [status]):
            continue
        pattern = rule.get("messageRegex")
        if pattern is None or re.search(pattern, message):
            return str(rule["name"])
    return None


def test_rules_are_well_formed_and_portable() -> None:
    names = [r["name"] for r in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert set(rule) <= {
            "name",
            "description",
            "matchedStatuses",
            "messageRegex",
            "traceRegex",
            "flaky",
        }
        assert not any(token in rule.get("messageRegex", "") for token in JS_ONLY), rule["name"]
    assert [n.split(":")[0] for n in names[:8]] == ["Product"] * 5 + ["Infrastructure"] * 3


def _entry(path: str, size: int, digest: str) -> Entry:
    return Entry(path, size, digest * 64)


def _verification(section: str, headline: str) -> VerificationFailed:
    v = Verification("after restart 1", "i-0abc (gen 2)", None, [Finding(section, headline, [])], 7)  # type: ignore[arg-type]
    return VerificationFailed(v, v.message("e2e-run-main-gate-1"))


def _template_failure(actual: dict[str, Entry]) -> VerificationFailed:
    expected = Manifest(
        "/configs",
        {
            "config.yaml": _entry("config.yaml", 900, "a"),
            "prompts/system.md": _entry("prompts/system.md", 400, "b"),
        },
    )
    got = Manifest("/configs", actual)
    diffs = [
        Difference(
            "missing" if p not in got.entries else "changed",
            p,
            expected.entries[p],
            got.entries.get(p),
        )
        for p in expected.entries
        if got.entries.get(p) != expected.entries[p]
    ]
    return _verification("template", template_headline(diffs, expected))


def _timeout() -> WaitTimeout:
    clock = iter(range(100))
    try:
        wait_for(
            "workspace online",
            lambda: "provisioning",
            lambda s: s == "online",
            timeout_s=3,
            poll_s=1,
            clock=lambda: float(next(clock)),
            pause=lambda s: None,
        )
    except WaitTimeout as exc:
        return exc
    raise AssertionError("wait_for did not time out")


@pytest.mark.parametrize(
    ("make", "want"),
    [
        (
            lambda: _template_failure(
                {"config.yaml": _entry("config.yaml", STUB_CONFIG_SIZE, "c")}
            ),
            "Product: config.yaml is the stub (template not delivered)",
        ),
        (
            lambda: _template_failure(
                {
                    "config.yaml": _entry("config.yaml", 900, "a"),
                    "prompts/system.md": _entry("prompts/system.md", 401, "d"),
                }
            ),
            "Product: template file differs",
        ),
        (
            lambda: _template_failure({"prompts/system.md": _entry("prompts/system.md", 400, "b")}),
            "Product: template file differs",
        ),
        (
            lambda: _verification(
                "user/agent",
                user_headline(
                    [
                        Difference(
                            "changed",
                            "CLAUDE.md",
                            _entry("CLAUDE.md", 10, "e"),
                            _entry("CLAUDE.md", 12, "f"),
                        )
                    ]
                ),
            ),
            "Product: user file changed",
        ),
        (
            lambda: _verification(
                "plugins",
                "plugin seo-all is installed but /configs/plugins/seo-all/ is empty or missing",
            ),
            "Product: plugin missing or changed",
        ),
        (_timeout, "Infrastructure: timeout"),
        (
            lambda: pytest.fail.Exception(
                "E2E_DEADLINE_S=900s reached: not starting this test (teardown time is reserved)"
            ),
            "Infrastructure: timeout",
        ),
        (
            lambda: BoxGone("i-0abc: not a live managed instance (InvalidInstanceId)"),
            "Infrastructure: AWS error",
        ),
        (
            lambda: ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "SendCommand"
            ),
            "Infrastructure: AWS error",
        ),
        (
            lambda: PlatformError("POST", "/workspaces", 503, '{"error": "unavailable"}'),
            "Infrastructure: HTTP error",
        ),
        (lambda: httpx.ConnectError("connection refused"), "Infrastructure: HTTP error"),
    ],
)
def test_failures_land_in_their_category(make: object, want: str) -> None:
    exc = make()  # type: ignore[operator]
    assert category(exc) == want, f"{type(exc).__name__}: {exc}"


def test_a_plain_bug_is_not_blamed_on_product_or_infrastructure() -> None:
    assert category(KeyError("E2E_SOMETHING"), status="broken") == "Harness or configuration error"
    # never Allure's default "Product errors" bucket for a failure we cannot classify
    assert category(ZeroDivisionError("division by zero")) == "Unclassified failure"
