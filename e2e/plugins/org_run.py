"""A tenant per run (`E2E_CP_URL` + `E2E_CP_ADMIN_TOKEN`, no `E2E_PLATFORM_URL`).

The pytest controller makes the run's org before xdist starts its workers, hands the tenant to
them through the environment (`E2E_PLATFORM_URL`, `E2E_ADMIN_TOKEN`, `E2E_ORG_ID`), and at the
end of the session — on pass, fail and Ctrl-C — deletes the tenant, checks that the org list no
longer shows it and that AWS holds nothing named for it; anything left fails the run.
"""

from __future__ import annotations

import os

import pytest

from e2e.harness.aws import make_clients
from e2e.harness.leaks import find_org_leaks
from e2e.harness.settings import RunSettings, Target, load_run_settings
from e2e.harness.waits import WaitTimeout, wait_for
from e2e.targets.orgs import OrgAdmin, org_slug, tenant_url_template

_ORG = pytest.StashKey[tuple[OrgAdmin, str, str, RunSettings]]()


def org_mode(env: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    return bool(env.get("E2E_CP_URL") and env.get("E2E_CP_ADMIN_TOKEN")) and not env.get(
        "E2E_PLATFORM_URL"
    )


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") or not org_mode():
        return
    settings = load_run_settings()
    if settings.target == "embedded":
        raise pytest.UsageError("a tenant per run needs E2E_TARGET=staging or external")
    admin = OrgAdmin(os.environ["E2E_CP_URL"], os.environ["E2E_CP_ADMIN_TOKEN"])
    slug = org_slug(settings.run_id)
    template = os.environ.get("E2E_TENANT_URL_TEMPLATE") or tenant_url_template(
        os.environ["E2E_CP_URL"]
    )
    org_id = admin.create(slug)
    config.stash[_ORG] = (admin, slug, org_id, settings)  # deleted whatever happens next
    profile = settings.profile
    try:
        tenant = admin.wait_running(
            slug,
            org_id,
            template,
            timeout_s=profile.online_s,
            poll_s=max(profile.poll_s, 0.1),
            log_every_s=profile.log_every_s,
        )
    except Exception as exc:
        problems = _teardown(config)
        raise pytest.UsageError(f"tenant {slug} did not come up: {exc}; {problems}") from exc
    os.environ.update(
        E2E_PLATFORM_URL=tenant.url,
        E2E_ADMIN_TOKEN=tenant.admin_token,
        E2E_ORG_ID=tenant.org_id,
        E2E_ORG_SLUG=slug,
    )


def _teardown(config: pytest.Config) -> list[str]:
    admin, slug, org_id, settings = config.stash[_ORG]
    del config.stash[_ORG]
    problems = admin.delete(slug)
    target = Target.from_env(
        settings.target,
        {**os.environ, "E2E_PLATFORM_URL": "-", "E2E_ADMIN_TOKEN": "-", "E2E_ORG_ID": org_id},
    )
    aws = make_clients(target, timeout_s=settings.profile.http_timeout_s)
    try:
        wait_for(
            f"nothing left in AWS for org {slug}",
            lambda: find_org_leaks(aws, slug, org_id),
            lambda leaks: not leaks,
            timeout_s=settings.profile.delete_s,
            poll_s=max(settings.profile.poll_s, 0.2),
            describe="; ".join,
            log_every_s=settings.profile.log_every_s,
        )
    except WaitTimeout as exc:
        problems += list(exc.last) if isinstance(exc.last, list) else [str(exc)]
    admin.close()
    return problems


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _ORG not in session.config.stash:
        return
    problems = _teardown(session.config)
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.section("tenant per run: left behind", red=True)
            for line in problems:
                reporter.write_line(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
