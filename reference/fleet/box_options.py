"""What the fleet needs to know before it starts a box, and the switches it passes into it.

`LaunchSpec` comes from the instance's UserData (the control plane's word on the backend and
on data persistence); `BoxOptions` are the stack's own switches, handed to the box through
`/run/molecule/instance.json` like `heartbeat_s`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

ROOT_SKILL_MODES = ("fragment", "skill-dir")


@dataclass(frozen=True)
class LaunchSpec:
    backend: str = "saas"  # "saas": persistence by snapshot; "docker": persistent config volume
    data_persistence: str = ""  # "persist" | "ephemeral" | "" (the product's `auto`)

    @classmethod
    def from_user_data(cls, raw: bytes) -> LaunchSpec:
        """Unreadable UserData gives the defaults: the box itself reports what is wrong."""
        try:
            data: Any = json.loads(raw)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        backend = "docker" if data.get("backend") == "docker" else "saas"
        persistence = data.get("data_persistence")
        return cls(backend, persistence if isinstance(persistence, str) else "")

    @property
    def waits_for_volume(self) -> bool:
        """Only a box that must have a volume is held back until one is attached."""
        return self.backend == "docker" or self.data_persistence == "persist"

    @property
    def volume_mode(self) -> str:
        """`configs`: the volume is /configs and /workspace; `data`: it is /mnt/molecule-data."""
        return "configs" if self.backend == "docker" else "data"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip() in ("1", "true", "yes")


def _root_skill_from_env() -> str:
    return os.environ.get("REFERENCE_ROOT_SKILL", "").strip() or "fragment"


@dataclass(frozen=True)
class BoxOptions:
    """Runtime variants the product may turn out to have (read from the stack's environment)."""

    # REFERENCE_RESTORE_TEMPLATE_FILES=1: a restore brings back config.yaml and prompts/** too
    restore_template_files: bool = field(
        default_factory=lambda: _env_flag("REFERENCE_RESTORE_TEMPLATE_FILES")
    )
    # REFERENCE_ROOT_SKILL=fragment|skill-dir: what a plugin's root SKILL.md becomes
    root_skill: str = field(default_factory=_root_skill_from_env)
    # the product fault `plugin-rules-repeat`: rule blocks appended again on every boot
    plugin_rules_repeat: bool = False

    def __post_init__(self) -> None:
        if self.root_skill not in ROOT_SKILL_MODES:
            raise ValueError(
                f"REFERENCE_ROOT_SKILL must be one of {ROOT_SKILL_MODES}, got {self.root_skill!r}"
            )

    def as_instance_fields(self) -> dict[str, Any]:
        return {
            "restore_template_files": self.restore_template_files,
            "root_skill": self.root_skill,
            "plugin_rules_repeat": self.plugin_rules_repeat,
        }
