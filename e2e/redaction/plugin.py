"""The redaction gate as a pytest plugin (e2e/conftest.py registers it): nothing the suite
emits reaches a terminal, a JUnit file, an Allure result or a stack log unmasked.

- every test and collection report: failure text, captured stdout/stderr/log, JUnit
  properties — on the xdist worker that made it (before it is sent) and again where it is
  written (the controller knows its own secrets);
- JUnit test-suite properties, before the XML is written;
- Allure results and containers, before Allure's file logger writes them;
- log records, at creation (`logs.py`);
- and, when the session ends, a last pass over the files it produced — the Allure results
  directory, the JUnit file, the stack logs under E2E_LOG_DIR — in place, with `*` of the same
  length, catching what a stack printed or an attachment carried.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any

import allure_commons
import pytest

from e2e.redaction import logs, scrub
from e2e.redaction.secrets import REGISTRY

REPO_ROOT = Path(__file__).resolve().parents[2]
_STARTED = pytest.StashKey[float]()


def stack_log_root(env: Mapping[str, str] = os.environ) -> Path:
    """Where embedded stacks and the fork server write their logs (e2e/README: E2E_LOG_DIR)."""
    return Path(env.get("E2E_LOG_DIR") or REPO_ROOT / "reports" / "stack-logs")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STARTED] = time.time() - 2  # mtime granularity
    REGISTRY.configure(os.environ)
    REGISTRY.register_env(os.environ)
    logs.install()
    _allure_hooks()


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    """Innermost wrapper: masked before Allure's wrapper and anything else read the report."""
    outcome = yield
    scrub.report(outcome.get_result())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    scrub.report(report)


@pytest.hookimpl(tryfirst=True)
def pytest_collectreport(report: pytest.CollectReport) -> None:
    scrub.report(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, Any, None]:
    """Suite properties before the JUnit file is written; the files once all is written."""
    xml = _junit(session.config)
    if xml is not None and getattr(xml, "global_properties", None):
        xml.global_properties = [(k, scrub.deep(v)) for k, v in xml.global_properties]
    yield
    final_pass(session.config)


def final_pass(config: pytest.Config) -> int:
    """Mask the session's files in place; every process does it with the secrets it knows."""
    since = config.stash.get(_STARTED, 0.0)
    return scrub.tree(_outputs(config), since)


def _outputs(config: pytest.Config) -> Iterable[Path]:
    yield stack_log_root()
    for option in ("allure_report_dir", "xmlpath"):
        value = getattr(config.option, option, None)
        if value:
            yield Path(str(value))


def _junit(config: pytest.Config) -> Any:
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - pytest moved it
        return None
    return config.stash.get(xml_key, None)


def _allure_hooks() -> None:
    """Mask Allure's results in the objects its file logger is about to write."""
    manager = allure_commons.plugin_manager
    if not any(isinstance(p, AllureScrubber) for p in manager.get_plugins()):
        manager.register(AllureScrubber())


class AllureScrubber:
    @allure_commons.hookimpl(tryfirst=True)
    def report_result(self, result: Any) -> None:
        scrub.deep(result)

    @allure_commons.hookimpl(tryfirst=True)
    def report_container(self, container: Any) -> None:
        scrub.deep(container)

    @allure_commons.hookimpl(tryfirst=True)
    def report_globals(self, globals_item: Any) -> None:
        scrub.deep(globals_item)
