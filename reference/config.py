"""Stack configuration, read once from the environment so every part agrees on it.

Timings imitate the product's constants (liveness TTL 180 s, automatic-restart window 60 s, ...)
multiplied by one factor, `REFERENCE_TIME_SCALE` (default 1/120: a 180 s TTL becomes 1.5 s), so
the embedded suite stays fast while every ratio between them stays the product's. Each timing
also has its own override for tests that need one of them longer.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from reference import faults

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_TEMPLATES = REPO_ROOT / "fixtures" / "templates"
FIXTURE_PLUGINS = REPO_ROOT / "fixtures" / "plugins"

DEFAULT_TIME_SCALE = 1 / 120
# The liveness TTL spans at least this many heartbeats: scaled down to 1.5 s it would be under
# four, and a loaded machine that delays a few beats would declare boxes offline by the dozen
# (each an automatic restart that loads it more: a storm seen at 50 workspaces on 2 cores).
MIN_BEATS_PER_TTL = 8
TENANT_SLUG = re.compile(r"^[a-z][a-z0-9-]{2,31}$")


def parse_faults(raw: str) -> frozenset[str]:
    """Parse `a,b` into a set, refusing unknown names so a typo never silently tests nothing."""
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = names - faults.KNOWN
    if unknown:
        raise ValueError(
            f"unknown REFERENCE_FAULTS {sorted(unknown)}; known: {', '.join(sorted(faults.KNOWN))}"
        )
    return names


@dataclass(frozen=True)
class Timings:
    """The product's lifecycle constants (workspace-server), scaled.

    Product values: liveness TTL 180 s (db/redis.go), automatic-restart window 60 s
    (RestartDebounceWindow), a restart that finds the workspace still provisioning waits 10 s,
    health sweep every 15 s, provision timeout 12 min (registry/provisiontimeout.go) swept
    every 30 s, rate limit per minute.
    """

    scale: float = DEFAULT_TIME_SCALE
    liveness_ttl_s: float = max(180 * DEFAULT_TIME_SCALE, MIN_BEATS_PER_TTL * 0.4)
    restart_window_s: float = 60 * DEFAULT_TIME_SCALE
    provisioning_pause_s: float = 10 * DEFAULT_TIME_SCALE
    health_sweep_s: float = 15 * DEFAULT_TIME_SCALE
    # floor: a loaded 2-core machine boots boxes slower than any scale assumes
    provision_timeout_s: float = max(30.0, 720 * DEFAULT_TIME_SCALE)
    provision_sweep_s: float = 30 * DEFAULT_TIME_SCALE
    rate_window_s: float = 60 * DEFAULT_TIME_SCALE

    @classmethod
    def scaled(
        cls, scale: float, overrides: dict[str, float] | None = None, heartbeat_s: float = 0.4
    ) -> Timings:
        values = {
            "scale": scale,
            "liveness_ttl_s": max(180 * scale, MIN_BEATS_PER_TTL * heartbeat_s),
            "restart_window_s": 60 * scale,
            "provisioning_pause_s": 10 * scale,
            "health_sweep_s": 15 * scale,
            "provision_timeout_s": max(30.0, 720 * scale),
            "provision_sweep_s": 30 * scale,
            "rate_window_s": 60 * scale,
        }
        values.update(overrides or {})
        return cls(**values)


# REFERENCE_<NAME> → Timings field, for the timings a test may want on their own
TIMING_ENV = {
    "REFERENCE_HEARTBEAT_TTL_S": "liveness_ttl_s",
    "REFERENCE_RESTART_WINDOW_S": "restart_window_s",
    "REFERENCE_PROVISION_TIMEOUT_S": "provision_timeout_s",
}


@dataclass
class StackConfig:
    """Everything the parts of the reference stack share."""

    state_dir: Path
    faults: frozenset[str] = frozenset()
    backend: str = "saas"
    region: str = "us-east-1"
    # how often a box beats; the liveness TTL (timings) is the product's 180 s, scaled
    heartbeat_s: float = 0.4
    timings: Timings = field(default_factory=Timings)
    template_roots: list[Path] = field(default_factory=list)
    plugins_root: Path = FIXTURE_PLUGINS
    admin_token: str = field(default_factory=lambda: "adm-" + secrets.token_hex(16))
    cp_secret: str = field(default_factory=lambda: "cp-" + secrets.token_hex(16))
    org_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tenant_slug: str = "reference"
    # A new workspace without parent_id goes under the single existing root workspace, as the
    # product does when the tenant has no platform agent (workspace.go). "none": no parent.
    default_parent: str = "single-root"
    # Rate limit per org header and window (router.go: 600 per minute).
    rate_limit: int = 600
    aws_access_key_id: str = "testing"
    aws_secret_access_key: str = "testing"
    # the control plane's admin bearer (POST /cp/admin/orgs, ...)
    cp_admin_token: str = field(default_factory=lambda: "cpa-" + secrets.token_hex(16))
    # filled in by the stack once its servers are bound
    platform_url: str = ""
    cp_url: str = ""  # "": platform_url + /cp
    aws_endpoint_url: str = ""

    @property
    def control_plane_url(self) -> str:
        return self.cp_url or self.platform_url.rstrip("/") + "/cp"

    @property
    def heartbeat_ttl_s(self) -> float:
        return self.timings.liveness_ttl_s

    @property
    def imported_templates_dir(self) -> Path:
        return self.state_dir / "templates"

    @property
    def volumes_dir(self) -> Path:
        return self.state_dir / "volumes"

    @property
    def db_path(self) -> Path:
        return self.state_dir / "platform.sqlite3"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> StackConfig:
        env = dict(os.environ if env is None else env)
        state_dir = Path(env.get("REFERENCE_STATE_DIR") or tempfile.mkdtemp(prefix="reference-"))
        backend = env.get("REFERENCE_BACKEND", "saas")
        if backend not in ("saas", "docker"):
            raise ValueError(f"REFERENCE_BACKEND must be 'saas' or 'docker', got {backend!r}")
        slug = env.get("REFERENCE_TENANT_SLUG", "reference")
        if not TENANT_SLUG.match(slug):
            raise ValueError(f"REFERENCE_TENANT_SLUG must match {TENANT_SLUG.pattern}: {slug!r}")
        parent = env.get("REFERENCE_DEFAULT_PARENT", "single-root")
        if parent not in ("single-root", "none"):
            raise ValueError(f"REFERENCE_DEFAULT_PARENT must be single-root|none, got {parent!r}")
        overrides = {
            name: float(env[var]) for var, name in TIMING_ENV.items() if env.get(var) is not None
        }
        heartbeat_s = float(env.get("REFERENCE_HEARTBEAT_S", "0.4"))
        cfg = cls(
            state_dir=state_dir,
            faults=parse_faults(env.get("REFERENCE_FAULTS", "")),
            backend=backend,
            heartbeat_s=heartbeat_s,
            timings=Timings.scaled(
                float(env.get("REFERENCE_TIME_SCALE", DEFAULT_TIME_SCALE)), overrides, heartbeat_s
            ),
            plugins_root=Path(env.get("REFERENCE_PLUGINS_ROOT") or FIXTURE_PLUGINS),
            tenant_slug=slug,
            default_parent=parent,
        )
        # fixed secrets let a test plant recognisable values and prove none reaches a report
        if env.get("REFERENCE_ADMIN_TOKEN"):
            cfg.admin_token = env["REFERENCE_ADMIN_TOKEN"]
        if env.get("REFERENCE_CP_SECRET"):
            cfg.cp_secret = env["REFERENCE_CP_SECRET"]
        if env.get("REFERENCE_CP_ADMIN_TOKEN"):
            cfg.cp_admin_token = env["REFERENCE_CP_ADMIN_TOKEN"]
        if env.get("REFERENCE_ORG_ID"):
            cfg.org_id = env["REFERENCE_ORG_ID"]
        roots = env.get("REFERENCE_TEMPLATE_ROOTS")
        cfg.template_roots = (
            [Path(p) for p in roots.split(os.pathsep) if p]
            if roots
            else [cfg.imported_templates_dir, FIXTURE_TEMPLATES]
        )
        return cfg
