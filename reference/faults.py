"""Fault switches of the reference stack (DESIGN §8), one sentence each on what they reproduce.

`reference/config.py` parses `REFERENCE_FAULTS=a,b` into `StackConfig.faults`; the parts of the
stack ask `is_on(config.faults, NAME)` at the one place where the defect lives, so each fault is
a single, reviewable deviation from correct behaviour.
"""

from __future__ import annotations

from collections.abc import Collection

RESTART_DROPS_TEMPLATE = "restart-drops-template"
RECONCILE_DROPS_TEMPLATE = "reconcile-drops-template"
DROP_PROMPTS = "drop-prompts"
NO_ALLOWLIST = "no-allowlist"
FRESH_VOLUME = "fresh-volume"
PLUGIN_LOST = "plugin-lost"
LATE_RECONCILE = "late-reconcile"
PLATFORM_5XX = "platform-5xx"
# owned by the AWS endpoint / fleet side of the stack
SLOW_BOOT = "slow-boot"
SSM_DELAY = "ssm-delay"
AWS_THROTTLE = "aws-throttle"

FAULT_DOCS: dict[str, str] = {
    RESTART_DROPS_TEMPLATE: (
        "The historical incident: every re-provision (manual, plugin, reconcile, crash restart) "
        "passes an empty template path to the control plane, so nothing is collected, the box "
        "removes config.yaml and prompts/** and boots on the 218-byte stub."
    ),
    RECONCILE_DROPS_TEMPLATE: (
        "Only the restart triggered by plugin reconcile after the first online passes an empty "
        "template path, the timing-dependent variant that made the old gate flap."
    ),
    DROP_PROMPTS: (
        "The control plane's collector keeps config.yaml but omits every prompts/** file, as a "
        "too-narrow allowlist would, so the box ends up with no prompts."
    ),
    NO_ALLOWLIST: (
        "The control plane ships every template file, template defaults such as CLAUDE.md and "
        ".claude/** included, overwriting the user's own files on each (re)provision."
    ),
    FRESH_VOLUME: (
        "Each re-provision creates a new data volume (and deletes the old one) instead of "
        "re-attaching the workspace's volume, so user and agent files are lost."
    ),
    PLUGIN_LOST: (
        "An installed plugin is served to the box only by the restart its install triggered; "
        "later re-provisions get an empty plugin list although the platform still lists it."
    ),
    LATE_RECONCILE: (
        "Plugin reconcile fires 1.5 s after the first online instead of at once (benign: the "
        "harness must wait for the settled generation, not the first online)."
    ),
    PLATFORM_5XX: (
        "Every third admin GET answers 503 with a JSON error, like a flaky load balancer "
        "(benign: the harness retries idempotent reads)."
    ),
    SLOW_BOOT: "Boxes boot slowly (fleet side; benign).",
    SSM_DELAY: "SSM invocations are first not found, then pending (AWS side; benign).",
    AWS_THROTTLE: "AWS calls are sometimes throttled (AWS side; benign, clients retry).",
}

LATE_RECONCILE_DELAY_S = 1.5


def is_on(faults: Collection[str], name: str) -> bool:
    """True when fault `name` is enabled; refuses names nobody documented so typos fail loudly."""
    if name not in FAULT_DOCS:
        raise KeyError(f"unknown fault {name!r}")
    return name in faults
