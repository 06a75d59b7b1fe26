"""Connect to a target: the clients, and (embedded) the stack's lifetime and leak check.

Used by e2e/conftest.py for the session's stack and by tests that need their own stack
(fault switches, docker backend) — both go through `StackHandle`, so both get the same
cleanup order: workspaces first, then the leak check, then the stack.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from e2e.harness import report
from e2e.harness.aws import AwsClients, make_clients
from e2e.harness.leaks import find_leaks, find_run_leaks
from e2e.harness.platform import PlatformClient
from e2e.harness.settings import REPO_ROOT, RunSettings, Target
from e2e.harness.waits import WaitTimeout, wait_for
from e2e.targets.embedded import EmbeddedStack
from e2e.targets.forkserver import ForkServer

log = logging.getLogger("e2e.session")


@dataclass
class StackHandle:
    target: Target
    platform: PlatformClient
    aws: AwsClients
    settings: RunSettings
    stack: EmbeddedStack | None = None  # embedded only
    leaks: list[str] = field(default_factory=list)

    def client(self, *, token: str | None = "", org: str | None = "") -> PlatformClient:
        """Another client for the same platform; "" keeps the real value, None omits it."""
        return PlatformClient(
            self.target.platform_url,
            self.target.admin_token if token == "" else token,
            self.target.org_id if org == "" else org,
            timeout_s=self.settings.profile.http_timeout_s,
        )

    def check_leaks(self) -> list[str]:
        """Embedded: wait (bounded) for the whole account to be clean; what is still there."""
        return self._clean("no instance, secret or volume left", lambda: find_leaks(self.aws))

    def check_run_leaks(self, workspace_ids: list[str]) -> list[str]:
        """A shared account: what still names this run's workspaces (never deleted here)."""
        filters = self.settings.instance_filters
        return self._clean(
            f"nothing left of this run's {len(workspace_ids)} workspaces",
            lambda: find_run_leaks(self.aws, workspace_ids, filters),
        )

    def _clean(self, what: str, look: Callable[[], list[str]]) -> list[str]:
        try:
            wait_for(
                what,
                look,
                lambda leaks: not leaks,
                timeout_s=self.settings.profile.delete_s,
                poll_s=max(self.settings.profile.poll_s, 0.05),
                describe=lambda leaks: "; ".join(leaks),
                log_every_s=self.settings.profile.log_every_s,
            )
            self.leaks = []
        except WaitTimeout as exc:
            self.leaks = list(exc.last) if isinstance(exc.last, list) else [str(exc)]
        return self.leaks

    def close(self, *, wait: bool = True) -> None:
        """Close clients and stop the stack; `wait=False` only signals it (reap it later with
        `close()`), so a test does not spend the stack's shutdown time."""
        self.platform.close()
        if self.stack is not None:
            if wait:
                self.stack.stop()
            else:
                self.stack.terminate()


def _clients(target: Target, settings: RunSettings) -> tuple[PlatformClient, AwsClients]:
    report.register_secret(*target.secrets)
    platform = PlatformClient(
        target.platform_url,
        target.admin_token,
        target.org_id,
        timeout_s=settings.profile.http_timeout_s,
    )
    return platform, make_clients(target, timeout_s=settings.profile.http_timeout_s)


def stack_log_dir(settings: RunSettings) -> Path:
    base = Path(os.environ.get("E2E_LOG_DIR") or REPO_ROOT / "reports" / "stack-logs")
    return base / f"{settings.run_id}-{settings.worker_id}"


# set by the process that owns the fork server (the pytest controller) for those sharing it
FORKSERVER_SOCKET_ENV = "E2E_FORKSERVER_SOCKET"
FORKSERVER_LOG_ENV = "E2E_FORKSERVER_LOG"


def new_forkserver(settings: RunSettings) -> ForkServer | None:
    """The fork server this process's stacks come from: the shared one if this process's
    owner advertised it, else one of its own, started on first use (None:
    E2E_STACK_FORKSERVER=0)."""
    if not settings.stack_forkserver:
        return None
    log_path = stack_log_dir(settings) / "forkserver.stderr.log"
    shared = os.environ.get(FORKSERVER_SOCKET_ENV)
    return ForkServer(
        Path(os.environ.get(FORKSERVER_LOG_ENV) or log_path) if shared else log_path,
        start_timeout_s=settings.profile.stack_start_s,
        socket_path=Path(shared) if shared else None,
    )


def share_forkserver(settings: RunSettings) -> ForkServer | None:
    """Start the fork server now (it imports while pytest collects and xdist starts its
    workers) and advertise it to the processes started after this, which share it."""
    if settings.target != "embedded" or os.environ.get(FORKSERVER_SOCKET_ENV):
        return None
    server = new_forkserver(settings)
    if server is not None:
        os.environ[FORKSERVER_SOCKET_ENV] = str(server.start())
        os.environ[FORKSERVER_LOG_ENV] = str(server.log_path)
    return server


def unshare_forkserver(server: ForkServer) -> None:
    server.close()
    os.environ.pop(FORKSERVER_SOCKET_ENV, None)
    os.environ.pop(FORKSERVER_LOG_ENV, None)


def start_embedded(
    settings: RunSettings,
    env: Mapping[str, str] | None = None,
    label: str = "stack",
    forkserver: ForkServer | None = None,
) -> StackHandle:
    """Start a reference stack for this worker (REFERENCE_* switches via `env`): forked by
    `forkserver` when given, else a `serve` subprocess of its own."""
    stack = EmbeddedStack(
        env,
        start_timeout_s=settings.profile.stack_start_s,
        log_dir=stack_log_dir(settings),
        label=label,
        forkserver=forkserver,
    )
    target = stack.start()
    try:
        platform, aws = _clients(target, settings)
    except BaseException:
        stack.stop()
        raise
    return StackHandle(target, platform, aws, settings, stack)


def connect(settings: RunSettings, env: Mapping[str, str] | None = None) -> StackHandle:
    """The session's target: start the embedded stack, or read external/staging from env."""
    if settings.target == "embedded":
        return start_embedded(settings, label="session-stack")
    target = Target.from_env(settings.target, os.environ if env is None else env)
    platform, aws = _clients(target, settings)
    return StackHandle(target, platform, aws, settings)
