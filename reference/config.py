"""Stack configuration, read once from the environment so every part agrees on it."""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_TEMPLATES = REPO_ROOT / "fixtures" / "templates"
FIXTURE_PLUGINS = REPO_ROOT / "fixtures" / "plugins"

KNOWN_FAULTS = frozenset(
    {
        # product faults: the harness must fail, naming the cause
        "restart-drops-template",
        "reconcile-drops-template",
        "drop-prompts",
        "no-allowlist",
        "fresh-volume",
        "plugin-lost",
        # benign faults: the harness must pass
        "late-reconcile",
        "slow-boot",
        "ssm-delay",
        "aws-throttle",
        "platform-5xx",
    }
)


def parse_faults(raw: str) -> frozenset[str]:
    """Parse `a,b` into a set, refusing unknown names so a typo never silently tests nothing."""
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = names - KNOWN_FAULTS
    if unknown:
        raise ValueError(
            f"unknown REFERENCE_FAULTS {sorted(unknown)}; known: {', '.join(sorted(KNOWN_FAULTS))}"
        )
    return names


@dataclass
class StackConfig:
    """Everything the parts of the reference stack share."""

    state_dir: Path
    faults: frozenset[str] = frozenset()
    backend: str = "saas"
    region: str = "us-east-1"
    # 0.4 s beats against a 1.5 s TTL: 3+ missed beats before "offline"; each beat is a platform
    # request, so 0.2 s cost the stack twice the CPU for no earlier detection
    heartbeat_s: float = 0.4
    heartbeat_ttl_s: float = 1.5
    template_roots: list[Path] = field(default_factory=list)
    plugins_root: Path = FIXTURE_PLUGINS
    admin_token: str = field(default_factory=lambda: "adm-" + secrets.token_hex(16))
    cp_secret: str = field(default_factory=lambda: "cp-" + secrets.token_hex(16))
    org_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    aws_access_key_id: str = "testing"
    aws_secret_access_key: str = "testing"
    # filled in by the stack once its servers are bound
    platform_url: str = ""
    aws_endpoint_url: str = ""

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
        cfg = cls(
            state_dir=state_dir,
            faults=parse_faults(env.get("REFERENCE_FAULTS", "")),
            backend=backend,
            heartbeat_s=float(env.get("REFERENCE_HEARTBEAT_S", "0.4")),
            heartbeat_ttl_s=float(env.get("REFERENCE_HEARTBEAT_TTL_S", "1.5")),
            plugins_root=Path(env.get("REFERENCE_PLUGINS_ROOT") or FIXTURE_PLUGINS),
        )
        # fixed secrets let a test plant recognisable values and prove none reaches a report
        if env.get("REFERENCE_ADMIN_TOKEN"):
            cfg.admin_token = env["REFERENCE_ADMIN_TOKEN"]
        if env.get("REFERENCE_CP_SECRET"):
            cfg.cp_secret = env["REFERENCE_CP_SECRET"]
        if env.get("REFERENCE_ORG_ID"):
            cfg.org_id = env["REFERENCE_ORG_ID"]
        roots = env.get("REFERENCE_TEMPLATE_ROOTS")
        cfg.template_roots = (
            [Path(p) for p in roots.split(os.pathsep) if p]
            if roots
            else [cfg.imported_templates_dir, FIXTURE_TEMPLATES]
        )
        return cfg
