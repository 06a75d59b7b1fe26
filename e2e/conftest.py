"""Fixtures of the e2e suite: settings, the target (embedded stack per xdist worker), cleanup,
own stacks for reference-only tests, the global deadline; the run id and the shared fork server.
The summary, the scheduling and the tenant per run are plugins of their own (e2e/plugins/)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from e2e.harness.cleanup import Cleanup
from e2e.harness.gate import GateContext
from e2e.harness.settings import SettingsError, load_run_settings, new_run_id
from e2e.harness.waits import set_deadline, set_poll_budget
from e2e.harness.workspace import created_workspaces
from e2e.plugins.shared import next_item, record, stack_needed
from e2e.targets.forkserver import ForkServer
from e2e.targets.pool import StackPool
from e2e.targets.session import StackHandle, connect, share_forkserver, unshare_forkserver

# e2e.redaction.plugin: the redaction gate — every report, log line and file of the session
pytest_plugins = [
    "e2e.redaction.plugin",
    "e2e.plugins.summary",
    "e2e.plugins.scheduling",
    "e2e.plugins.org_run",
]
log = logging.getLogger("e2e")
_SHARED_FORKSERVER = pytest.StashKey[ForkServer | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("e2e", "template-delivery e2e (each also settable by env)")
    group.addoption(
        "--e2e-target", dest="e2e_target", help="embedded|external|staging (E2E_TARGET)"
    )
    group.addoption("--e2e-run-id", dest="e2e_run_id", help="run id in every name (E2E_RUN_ID)")
    group.addoption("--e2e-profile", dest="e2e_profile", help="fast|staging (E2E_PROFILE)")
    group.addoption("--e2e-restarts", dest="e2e_restarts", type=int, help="E2E_RESTARTS")
    group.addoption(
        "--e2e-keep", dest="e2e_keep", action="store_true", default=None, help="E2E_KEEP=1"
    )


def _options(config: pytest.Config) -> dict[str, object]:
    return {
        "target": config.getoption("e2e_target"),
        "run_id": config.getoption("e2e_run_id"),
        "profile": config.getoption("e2e_profile"),
        "restarts": config.getoption("e2e_restarts"),
        "keep": config.getoption("e2e_keep"),
    }


def pytest_configure(config: pytest.Config) -> None:
    # One run id for the controller and all xdist workers (they inherit the environment).
    if not (
        os.environ.get("E2E_RUN_ID")
        or config.getoption("e2e_run_id")
        or os.environ.get("PYTEST_XDIST_WORKER")
    ):
        os.environ["E2E_RUN_ID"] = new_run_id()
    # SIGTERM (CI cancel) behaves like Ctrl-C, so fixture finalizers still clean up.
    if hasattr(signal, "SIGTERM"):

        def _term(signum: int, frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, _term)
    # One warm fork server for the whole run, started before collection and xdist's workers.
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        with contextlib.suppress(SettingsError):  # the settings fixture reports it
            config.stash[_SHARED_FORKSERVER] = share_forkserver(
                load_run_settings(options=_options(config))
            )
    config.addinivalue_line(
        "markers",
        "stack_env(env, label): REFERENCE_* environment of the private reference stack this test "
        "needs (own_stack); declared so the session can start it while the previous test runs",
    )


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SHARED_FORKSERVER, None)
    if server is not None:
        unshare_forkserver(server)
        redaction = config.pluginmanager.get_plugin("e2e.redaction.plugin")
        if redaction is not None:  # what the fork server wrote until it stopped
            redaction.final_pass(config)


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config):
    try:
        loaded = load_run_settings(options=_options(pytestconfig))
    except SettingsError as exc:
        pytest.exit(f"e2e settings: {exc}", returncode=4)
    set_deadline(*loaded.deadlines())  # every wait, whoever starts it, ends by E2E_DEADLINE_S
    set_poll_budget(loaded.profile.polls_per_s)  # all waits of this worker, together
    return loaded


@pytest.fixture(scope="session")
def stack_pool(settings) -> Iterator[StackPool]:
    pool = StackPool(settings)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(autouse=True)
def _reference_only(request: pytest.FixtureRequest, settings) -> None:
    if settings.is_staging and request.node.get_closest_marker("reference_only"):
        pytest.skip(
            "reference-only (fault switches, docker backend or a private stack): "
            "not available on E2E_TARGET=staging"
        )


@pytest.fixture(autouse=True)
def _start_stacks_early(request: pytest.FixtureRequest, settings, stack_pool: StackPool) -> None:
    """Start the stacks this test and the next one need in the background (reference only)."""
    if settings.is_staging:
        return
    for item in (request.node, next_item[0]):
        needed = stack_needed(item)
        if needed and (needed[0] or settings.target == "embedded"):
            stack_pool.prefetch(*needed)


@pytest.fixture(scope="session")
def stack(settings, stack_pool: StackPool) -> Iterator[StackHandle]:
    """The session's target. Embedded: this worker's own stack, leak-checked at the end."""
    if settings.target == "embedded":
        handle = stack_pool.take({}, "session-stack", shared=True)
    else:
        handle = connect(settings)
    try:
        yield handle
        if not settings.keep:
            leaks = (
                handle.check_leaks()
                if settings.target == "embedded"
                else handle.check_run_leaks(created_workspaces())
            )
            if leaks:
                pytest.fail(
                    "leak check: left behind after cleanup:\n  " + "\n  ".join(leaks),
                    pytrace=False,
                )
    finally:
        handle.close()


@pytest.fixture
def cleanup(settings, request: pytest.FixtureRequest) -> Iterator[Cleanup]:
    registry = Cleanup(keep=settings.keep)
    yield registry
    registry.run()


@pytest.fixture
def gate_ctx(stack: StackHandle, settings, cleanup: Cleanup, request: pytest.FixtureRequest):
    ctx = GateContext(stack.platform, stack.aws, settings, cleanup)
    yield ctx
    record(request, ctx.workspace_stats())


@pytest.fixture(scope="session")
def _stopping_stacks() -> Iterator[list[StackHandle]]:
    """Own stacks are signalled at their test's end and reaped here, at the session's end."""
    stopping: list[StackHandle] = []
    yield stopping
    for handle in stopping:
        handle.close()


@pytest.fixture
def own_stack(
    settings,
    request: pytest.FixtureRequest,
    stack_pool: StackPool,
    _stopping_stacks: list[StackHandle],
) -> Iterator[Callable[..., Any]]:
    """Start a private reference stack with REFERENCE_* switches (reference-only: skips on
    staging). Returns a GateContext on it; its workspaces are cleaned, then leaks checked,
    then the stack stopped."""
    if settings.is_staging:
        pytest.skip("needs its own reference stack (fault switches / docker backend)")
    started: list[tuple[StackHandle, GateContext]] = []

    def start(env: Mapping[str, str] | None = None, label: str | None = None) -> GateContext:
        declared = stack_needed(request.node)
        if env is None:
            assert declared and declared[0], "own_stack() without env needs @stack_env"
            env, label = declared
        handle = stack_pool.take(env, label or "own-stack")
        ctx = GateContext(
            handle.platform, handle.aws, settings, Cleanup(keep=settings.keep), stack=handle
        )
        started.append((handle, ctx))
        return ctx

    yield start
    problems: list[str] = []
    for handle, ctx in reversed(started):
        try:
            record(request, ctx.workspace_stats())
            ctx.cleanup.run()
            if not settings.keep:
                problems += handle.check_leaks()
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            handle.close(wait=False)
            _stopping_stacks.append(handle)
    if problems:
        pytest.fail("own stack teardown:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _global_deadline(settings) -> None:
    left = settings.remaining_s()
    if left is not None and left <= 0:
        pytest.fail(
            f"E2E_DEADLINE_S={settings.deadline_s:.0f}s reached: not starting this test "
            "(teardown time is reserved)",
            pytrace=False,
        )
