"""The report's failure categories (report/categories.json) sort real harness failures right:
product failures (stub config, template file differs, user file changed, plugin) apart from
infrastructure ones (timeouts, AWS, HTTP). Messages are built with the harness's own code, so a
change of wording there shows up here, not as a silently mis-sorted report.

Allure 3 matches `messageRegex` with JavaScript's RegExp.test (a search), first rule wins; the
patterns use only syntax that means the same in Python's `re.search`.

Also: the generated page is post-processed to stay self-contained (no analytics beacon).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from e2e.harness.compare import STUB_CONFIG_SIZE, Difference, template_headline, user_headline
from e2e.harness.identity import BoxIdentity
from e2e.harness.manifest import Entry, Manifest
from e2e.harness.platform import PlatformError, WorkspaceGone
from e2e.harness.product import ApiDrift, Event, parse_list
from e2e.harness.ssm import BoxGone
from e2e.harness.templates import TemplateTooLarge
from e2e.harness.triggers import PluginNotDelivered
from e2e.harness.verify import Finding, Verification, VerificationFailed
from e2e.harness.waits import WaitAborted, WaitTimeout, wait_for

REPO = Path(__file__).resolve().parent.parent
RULES = json.loads((REPO / "report" / "categories.json").read_text())
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
    # product rules first: a product failure that also timed out is filed as the product's
    kinds = [n.split(":")[0] for n in names]
    assert kinds.index("Infrastructure") == kinds.count("Product")


def _entry(path: str, size: int, digest: str) -> Entry:
    return Entry(path, size, digest * 64)


def _verification(
    section: str, headline: str, details: list[str] | None = None
) -> VerificationFailed:
    finding = Finding(section, headline, details or [])
    v = Verification("after restart 1", BoxIdentity("i-0abc"), None, [finding], 7)  # type: ignore[arg-type]
    return VerificationFailed(v, v.message("e2e-run-main-gate-1"))


def _drift() -> ApiDrift:
    try:
        parse_list(Event, [{"id": "x", "type": "WORKSPACE_ONLINE"}], "GET /events/:id")
    except ApiDrift as exc:
        return exc
    raise AssertionError("no drift")


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
        (
            lambda: _verification(
                "user/agent",
                "user/agent files changed: /configs/CLAUDE.md",
                ["/configs/CLAUDE.md: plugin blocks appended more than once: # Plugin: seo-all"],
            ),
            "Product: user file changed",
        ),
        (
            lambda: WaitAborted(
                "ws-1: online after create: gave up after 1.00s: workspace is failed: "
                "WORKSPACE_PROVISION_FAILED {'error': 'provisioning failed'}"
            ),
            "Product: provisioning failed or was refused",
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
        (
            lambda: WorkspaceGone("GET", "/workspaces/7d3b2c1a", 410, '{"error": "removed"}'),
            "Infrastructure: HTTP error",
        ),
    ],
)
def test_failures_land_in_their_category(make: object, want: str) -> None:
    exc = make()  # type: ignore[operator]
    assert category(exc) == want, f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize(
    "make",
    [
        _drift,
        lambda: _verification(
            "channels",
            "the ssm and files-API readings disagree",
            ["/configs/prompts/system.md: differs: expected 3 bytes"],
        ),
        lambda: PluginNotDelivered(
            "ws-1: plugin install of local://seo-all answered installed, but no restart came "
            "within 1.5 s and /configs/plugins/seo-all is not on the current box i-0abc"
        ),
        lambda: TemplateTooLarge(
            "template fixture: its config.yaml and prompts/** total 300000 bytes in 5 files, "
            "over the product's 262144-byte config_files cap; largest: prompts/a.md (9 bytes)"
        ),
    ],
    ids=["api-drift", "channels", "plugin-not-delivered", "template-too-large"],
)
def test_the_harness_own_failures_are_classified(make: object) -> None:
    exc = make()  # type: ignore[operator]
    assert category(exc) != "Unclassified failure"


def test_a_plain_bug_is_not_blamed_on_product_or_infrastructure() -> None:
    assert category(KeyError("E2E_SOMETHING"), status="broken") == "Harness or configuration error"
    # never Allure's default "Product errors" bucket for a failure we cannot classify
    assert category(ZeroDivisionError("division by zero")) == "Unclassified failure"


# -- the page stays self-contained (scripts/report.mjs) ------------------------------------------

NODE = shutil.which("node")
PAGE_TAIL = """<div id="app"></div>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-XXXX"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
        gtag('config', 'G-XXXX', {"report": "awesome"});
    </script>
    <script src="data:text/javascript;base64,AAAA"></script>
</body></html>"""


def _strip(tmp_path: Path, html: str) -> subprocess.CompletedProcess[str]:
    assert NODE, "make report needs Node >= 20; so does this test"
    (tmp_path / "in.html").write_text(html)
    return subprocess.run(
        [
            NODE,
            str(REPO / "scripts" / "report.mjs"),
            str(tmp_path / "in.html"),
            str(tmp_path / "out.html"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_report_page_loses_the_analytics_block(tmp_path: Path) -> None:
    result = _strip(tmp_path, "<html><body>" + PAGE_TAIL)
    assert result.returncode == 0, result.stderr
    out = (tmp_path / "out.html").read_text()
    assert "googletagmanager" not in out and "gtag" not in out
    assert '<div id="app"></div>' in out and 'src="data:text/javascript;base64,AAAA"' in out


def test_report_page_with_another_external_script_is_refused(tmp_path: Path) -> None:
    html = "<html><body>" + PAGE_TAIL.replace(
        "</body>", '<script src="https://cdn.example.invalid/x.js"></script></body>'
    )
    result = _strip(tmp_path, html)
    assert result.returncode == 1
    assert "external resource left in the page" in result.stderr
    assert not (tmp_path / "out.html").exists()
