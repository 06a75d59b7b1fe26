"""Fixtures for the platform's API tests, loaded with `pytest_plugins = ["support.stack_fixtures"]`
so every test module shares them: ONE real stack per xdist worker (`tenant`), and one with a
slow boot and a long restart window (`slow_tenant`) for the tests that need those switches.
`api` / `slow_api` hand a stack to one test and delete what it created afterwards.

Stacks are forked by one warm fork server per worker (the harness's own client): each is a
separate process with its own moto, so none meets the in-process `aws_stack` of other tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.targets.embedded import EmbeddedStack
from e2e.targets.forkserver import ForkServer
from support.tenant_api import Tenant
from support.tenant_templates import OVER_CAP, OVER_SECRET, PLAIN


@pytest.fixture(scope="session")
def stack_forks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    server = ForkServer(tmp_path_factory.mktemp("forkserver") / "forkserver.log")
    yield server
    server.close()


def _start(
    forks: ForkServer, tmp: pytest.TempPathFactory, label: str, env: dict[str, str]
) -> tuple[EmbeddedStack, Tenant]:
    base = tmp.mktemp(label)
    stack = EmbeddedStack(
        {"REFERENCE_STATE_DIR": str(base / "state"), **env},
        log_dir=base / "logs",
        label=label,
        forkserver=forks,
    )
    stack.start()
    tenant = Tenant({k: str(v) for k, v in stack.info.items()})
    for name, files in (("plain", PLAIN), ("over-cap", OVER_CAP), ("over-secret", OVER_SECRET)):
        tenant.ok("POST", "/templates/import", 201, json={"name": name, "files": files})
    return stack, tenant


def _cleanup(tenant: Tenant, start: int) -> None:
    for ws_id in reversed(tenant.created[start:]):
        tenant.delete(ws_id, confirm="true")


@pytest.fixture(scope="session")
def tenant(stack_forks: ForkServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    """The shared stack, default timings; its first workspace `root` is the single root every
    later workspace defaults under (as on a tenant without a platform agent)."""
    stack, tenant = _start(stack_forks, tmp_path_factory, "tenant", {})
    tenant.root_id = tenant.create("root")["id"]
    tenant.created.clear()  # the root stays for the whole session
    yield tenant
    tenant.close()
    stack.stop()


@pytest.fixture(scope="session")
def slow_tenant(
    stack_forks: ForkServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tenant]:
    """Boxes boot 1 s late (fault slow-boot: a heartbeat can come first), automatic restarts
    within 30 s of the last cycle's start are dropped (a window a test can act inside), and the
    liveness TTL is 10 s (longer than any boot here)."""
    env = {
        "REFERENCE_FAULTS": "slow-boot",
        "REFERENCE_RESTART_WINDOW_S": "30",
        "REFERENCE_HEARTBEAT_TTL_S": "10",
    }
    stack, tenant = _start(stack_forks, tmp_path_factory, "slow-tenant", env)
    yield tenant
    tenant.close()
    stack.stop()


@pytest.fixture
def api(tenant: Tenant) -> Iterator[Tenant]:
    start = len(tenant.created)
    yield tenant
    _cleanup(tenant, start)


@pytest.fixture
def slow_api(slow_tenant: Tenant) -> Iterator[Tenant]:
    start = len(slow_tenant.created)
    yield slow_tenant
    _cleanup(slow_tenant, start)
