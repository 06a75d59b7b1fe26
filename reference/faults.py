"""Fault switches of the reference stack, read from the one table in `fixtures/faults.yaml`.

`reference/config.py` parses `REFERENCE_FAULTS=a,b` into `StackConfig.faults`; the parts of the
stack ask `is_on(config.faults, NAME)` at the one place where the defect lives, so each fault is
a single, reviewable deviation from correct behaviour. The harness reads the same table for the
diagnosis each product fault must produce.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

TABLE = Path(__file__).resolve().parent.parent / "fixtures" / "faults.yaml"


def _load() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return {str(name): dict(row) for name, row in data["faults"].items()}


FAULTS: dict[str, dict[str, Any]] = _load()
KNOWN = frozenset(FAULTS)

RESTART_DROPS_TEMPLATE = "restart-drops-template"
RECONCILE_DROPS_TEMPLATE = "reconcile-drops-template"
MANUAL_RESTART_DROPS_TEMPLATE = "manual-restart-drops-template"
DROP_PROMPTS = "drop-prompts"
NO_ALLOWLIST = "no-allowlist"
FRESH_VOLUME = "fresh-volume"
PLUGIN_LOST = "plugin-lost"
PLUGIN_RULES_REPEAT = "plugin-rules-repeat"
NORMALISE_NEWLINES = "normalise-newlines"
ADD_FINAL_NEWLINE = "add-final-newline"
DROP_EMPTY_FILES = "drop-empty-files"
DROP_NON_ASCII_NAMES = "drop-non-ascii-names"
LATE_RECONCILE = "late-reconcile"
LONG_RESTART_WINDOW = "long-restart-window"
PLATFORM_5XX = "platform-5xx"
SLOW_BOOT = "slow-boot"
SSM_DELAY = "ssm-delay"
AWS_THROTTLE = "aws-throttle"

LATE_RECONCILE_DELAY_S = 1.5
LONG_RESTART_WINDOW_S = 30.0

_NAMED = {
    v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str) and k != "TABLE"
}
assert _NAMED <= KNOWN, f"faults named in code but not in {TABLE.name}: {_NAMED - KNOWN}"


def is_on(faults: Collection[str], name: str) -> bool:
    """True when fault `name` is enabled; refuses names nobody documented so typos fail loudly."""
    if name not in KNOWN:
        raise KeyError(f"unknown fault {name!r}")
    return name in faults
