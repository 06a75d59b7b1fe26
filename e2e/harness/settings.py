"""Where the harness points and how patient it is, read once from env and pytest options.

Every knob has one name (`E2E_*`), documented in e2e/README.md. Targets differ only in where the
values come from: `embedded` gets them from the stack it starts, `external` and `staging` from env.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

# the run's settings carry a profile and point at a target: importable from here too
from e2e.harness.profiles import PROFILES, Profile
from e2e.harness.target import SettingsError, Target  # noqa: F401

TARGETS = ("embedded", "external", "staging")

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "fixtures"
TEMPLATE_FIXTURE = FIXTURES / "templates" / "seo-agent"
PLUGINS_FIXTURE = FIXTURES / "plugins"


# The reference box runs its agent in `python3 -m reference.box.supervisor` (one lean Python per
# box; older boxes: `-m reference.box.agent`). Anchored on the interpreter so the sandbox's
# pid 1 (bwrap, whose argv mentions the module) never matches.
AGENT_PATTERN = r"^[^ ]*python[0-9.]* .*-m reference[.]box[.](agent|supervisor)$"


def install_name(source: str) -> str:
    """A plugin source's install name, as the product derives it (plugins/source.go)."""
    rest = source.split("://", 1)[-1]
    return rest.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1] or source


DEFAULT_INSTANCE_FILTERS = "tag:Name=ws-tenant-*-{id8}*;tag:Role=workspace"
BOX_CHANNELS = ("ssm", "files", "both")


@dataclass(frozen=True)
class RunSettings:
    """Everything about this run that is not the target's address."""

    target: str = "embedded"
    run_id: str = ""
    worker_id: str = "main"
    keep: bool = False
    profile: Profile = PROFILES["fast"]
    restarts: int = 3
    plugin_source: str = "local://seo-all"
    # how EC2 names a workspace's instance (identity.filters_for): the product's tags by default
    instance_filters: str = DEFAULT_INSTANCE_FILTERS
    template_dir: Path = TEMPLATE_FIXTURE  # the expected bytes (E2E_TEMPLATE_DIR)
    # what POST /workspaces sends besides name and template; empty: the template's own
    runtime: str = ""
    model: str = ""
    secrets: tuple[tuple[str, str], ...] = ()  # from E2E_SECRETS_FILE (JSON object)
    box_channel: str = "ssm"  # ssm | files | both
    # the target reconciles declared plugins (a restart after the first online): a reconcile
    # not seen within the profile's reconcile_s is then a failure, not just a note
    require_reconcile: bool = False
    # pgrep -f regex for the box's agent (crash test); the brackets keep it from matching the
    # shell that runs pgrep, whose command line contains the pattern's text
    agent_pattern: str = AGENT_PATTERN
    deadline_s: float = 0.0  # 0: no global deadline
    teardown_reserve_s: float = 20.0
    started_at: float = 0.0  # time.monotonic() at session start
    # embedded stacks forked from one warm `python -m reference forkserver` (E2E_STACK_FORKSERVER=0:
    # one plain `serve` subprocess each, paying the imports every time)
    stack_forkserver: bool = True

    @property
    def is_staging(self) -> bool:
        return self.target == "staging"

    @property
    def plugin_name(self) -> str:
        """The install name: `local://seo-all`, `seo-all`, `gitea://o/r/…/seo-all#main` →
        `seo-all` (the product's rule: the last path segment, without `#ref`)."""
        return install_name(self.plugin_source)

    def remaining_s(self) -> float | None:
        """Seconds left before the global deadline minus the teardown reserve (None: unbounded)."""
        if self.deadline_s <= 0:
            return None
        used = time.monotonic() - self.started_at
        return self.deadline_s - self.teardown_reserve_s - used

    def deadlines(self) -> tuple[float | None, float | None]:
        """When a test's waits and a teardown's waits must have ended (time.monotonic())."""
        if self.deadline_s <= 0:
            return None, None
        end = self.started_at + self.deadline_s
        return end - self.teardown_reserve_s, end


def new_run_id() -> str:
    """Short, sortable and unique: UTC minute + random suffix (fits in resource names)."""
    return time.strftime("%m%d%H%M", time.gmtime()) + secrets.token_hex(2)


def _truthy(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


def load_run_settings(
    env: Mapping[str, str] | None = None, options: Mapping[str, object] | None = None
) -> RunSettings:
    """Env first, pytest options (`--e2e-*`) override. Validates everything up front."""
    env = os.environ if env is None else env
    opts = {k: v for k, v in (options or {}).items() if v is not None}

    def pick(opt: str, var: str, default: str) -> str:
        if opt in opts:
            return str(opts[opt])
        return env.get(var) or default

    target = pick("target", "E2E_TARGET", "embedded")
    if target not in TARGETS:
        raise SettingsError(f"E2E_TARGET must be one of {', '.join(TARGETS)}, got {target!r}")
    profile_name = pick("profile", "E2E_PROFILE", "staging" if target == "staging" else "fast")
    if profile_name not in PROFILES:
        raise SettingsError(
            f"E2E_PROFILE must be one of {', '.join(PROFILES)}, got {profile_name!r}"
        )
    run_id = pick("run_id", "E2E_RUN_ID", "") or new_run_id()
    if not run_id.replace("-", "").isalnum() or len(run_id) > 24:
        raise SettingsError(f"E2E_RUN_ID must be ≤24 chars of [A-Za-z0-9-], got {run_id!r}")
    try:
        restarts = int(pick("restarts", "E2E_RESTARTS", "3"))
        deadline_s = float(pick("deadline_s", "E2E_DEADLINE_S", "0"))
    except ValueError as exc:
        raise SettingsError(f"E2E_RESTARTS / E2E_DEADLINE_S must be numbers: {exc}") from None
    if restarts < 0:
        raise SettingsError(f"E2E_RESTARTS must be ≥ 0, got {restarts}")
    keep = bool(opts["keep"]) if "keep" in opts else _truthy(env.get("E2E_KEEP"))
    template_dir = Path(pick("template_dir", "E2E_TEMPLATE_DIR", str(TEMPLATE_FIXTURE)))
    if not (template_dir / "config.yaml").is_file():
        raise SettingsError(f"E2E_TEMPLATE_DIR {template_dir} has no config.yaml")
    channel = pick("box_channel", "E2E_BOX_CHANNEL", "ssm")
    if channel not in BOX_CHANNELS:
        raise SettingsError(
            f"E2E_BOX_CHANNEL must be one of {', '.join(BOX_CHANNELS)}: {channel!r}"
        )
    return RunSettings(
        target=target,
        run_id=run_id.lower(),
        worker_id=env.get("PYTEST_XDIST_WORKER") or "main",
        keep=keep,
        profile=PROFILES[profile_name],
        restarts=restarts,
        plugin_source=pick("plugin_source", "E2E_PLUGIN_SOURCE", "local://seo-all"),
        instance_filters=pick("instance_filters", "E2E_INSTANCE_FILTERS", DEFAULT_INSTANCE_FILTERS),
        template_dir=template_dir,
        runtime=env.get("E2E_RUNTIME", ""),
        model=env.get("E2E_MODEL", ""),
        secrets=_secrets_file(env.get("E2E_SECRETS_FILE", "")),
        box_channel=channel,
        require_reconcile=_truthy(
            env.get("E2E_REQUIRE_RECONCILE") or ("1" if target != "staging" else "0")
        ),
        agent_pattern=pick("agent_pattern", "E2E_AGENT_PATTERN", AGENT_PATTERN),
        deadline_s=deadline_s,
        teardown_reserve_s=min(60.0, max(5.0, deadline_s * 0.1)) if deadline_s > 0 else 0.0,
        started_at=time.monotonic(),
        stack_forkserver=(env.get("E2E_STACK_FORKSERVER") or "1").strip() != "0",
    )


def _secrets_file(path: str) -> tuple[tuple[str, str], ...]:
    """E2E_SECRETS_FILE: a JSON object of workspace secrets (values never printed)."""
    if not path:
        return ()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"E2E_SECRETS_FILE {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise SettingsError(f"E2E_SECRETS_FILE {path}: must be a JSON object of strings")
    return tuple(sorted(data.items()))


def with_profile(settings: RunSettings, profile: Profile) -> RunSettings:
    return replace(settings, profile=profile)
