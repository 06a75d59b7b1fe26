"""pytest plugin (`-p e2e.allure_env`): the report's environment block and failure categories.

Writes `environment.properties` into the `--alluredir` so the HTML report says what was tested:
target, platform URL, run id, commit. Only those (and a few harmless labels) — never a token, key
or anything else from the environment, and URLs lose any user:password and query string.
Also copies report/categories.json there, so viewers that read categories from the results
(Allure 2 / classic) separate product failures from infrastructure ones like `make report` does.

Runs on the xdist controller only (workers share its results dir). When no `E2E_RUN_ID` is set
it picks one and exports it before any worker starts, so the report and every worker's resource
names carry the same run id.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = REPO_ROOT / "report" / "categories.json"
EMBEDDED_PLATFORM = "embedded (loopback, per worker)"


def safe_url(url: str) -> str:
    """Scheme, host, port and path only: credentials and query strings never reach a report."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return "(not a URL)"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def git_commit(env: Mapping[str, str], cwd: Path = REPO_ROOT) -> str:
    """Short commit of the checkout (`+dirty` when it has local changes), else CI's SHA."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        sha = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        ci_sha = env.get("GITHUB_SHA") or env.get("GITEA_SHA") or ""
        return ci_sha[:12] or "unknown"


def new_run_id() -> str:
    """Same shape as the harness's own: UTC minute + random suffix."""
    return time.strftime("%m%d%H%M", time.gmtime()) + os.urandom(2).hex()


def environment(env: Mapping[str, str]) -> dict[str, str]:
    """The environment block: an explicit allowlist, nothing copied wholesale from env."""
    target = env.get("E2E_TARGET") or "embedded"
    url = env.get("E2E_PLATFORM_URL")
    block = {
        "target": target,
        "platform_url": safe_url(url) if url else EMBEDDED_PLATFORM,
        "run_id": env.get("E2E_RUN_ID") or "(not set)",
        "commit": git_commit(env),
    }
    if env.get("E2E_PROFILE"):
        block["profile"] = env["E2E_PROFILE"]
    if env.get("DEPLOYED_VERSION"):
        block["deployed_version"] = env["DEPLOYED_VERSION"][:80]
    if env.get("GITHUB_RUN_NUMBER"):
        block["ci_run"] = f"{env.get('GITHUB_WORKFLOW', 'ci')} #{env['GITHUB_RUN_NUMBER']}"
    return block


def _escape(value: str) -> str:
    """Java .properties value escaping: only what would break the line (`=`/`:` are fine in
    values)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def write_environment(results_dir: Path, block: Mapping[str, str]) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "environment.properties"
    path.write_text("".join(f"{key}={_escape(value)}\n" for key, value in block.items()))
    if CATEGORIES.is_file():
        shutil.copyfile(CATEGORIES, results_dir / "categories.json")
    return path


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if _is_xdist_worker(config):
        return
    env = dict(os.environ)
    for option, var in (("e2e_target", "E2E_TARGET"), ("e2e_run_id", "E2E_RUN_ID")):
        value = config.getoption(option, default=None)  # the suite's --e2e-* options win
        if value:
            env[var] = str(value)
    if not env.get("E2E_RUN_ID"):  # e2e/conftest.py normally set it already
        env["E2E_RUN_ID"] = os.environ["E2E_RUN_ID"] = new_run_id()
    results = config.getoption("allure_report_dir", default=None)
    if results:
        write_environment(Path(str(results)), environment(env))
