"""The box's boot step (user-data): restore, deliver the config set, install plugins.

Runs in the box's init process right before the agent, with stdlib clients only (a SigV4-signed
GetSecretValue instead of boto3: 0.3-0.5 s of import and client setup, and ~40 MiB, saved per
box). Order (docs/contract.md, "Fleet and boxes"): (a) restore the previous box's files from the
data volume's snapshot (saas, `data_persistence: persist`), (b) fetch the config secret and
deliver it, (c) install the declared plugins, (d) apply their effects. Any failure is reported
to the platform (`/registry/boot-failed`) with a message naming what was missing; the box
itself stays up so it can still be inspected over SSM.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from reference.box import boxlog, layout
from reference.box.aws_lite import AwsError, get_secret_string
from reference.box.delivery import DeliveryError, decode_files, deliver, ensure_config
from reference.box.plugins import PluginError, install_declared
from reference.box.registry import Registry, RegistryError


class BootError(Exception):
    """Boot cannot finish; the message is what the platform shows."""


def log(message: str) -> None:
    boxlog.log("boot", message)


def read_user_data() -> dict[str, Any]:
    raw = Path(layout.USER_DATA_PATH).read_bytes()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BootError(f"user-data is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BootError("user-data is not a JSON object")
    for key in ("workspace_id", "platform_url", "workspace_token"):
        if not data.get(key):
            raise BootError(f"user-data lacks {key!r}")
    if not isinstance(data.get("env") or {}, dict):
        raise BootError("user-data 'env' is not an object")
    return data


def fetch_config_files(instance: dict[str, Any], secret_id: str) -> dict[str, bytes]:
    """The staged set: SecretString is a flat `{relpath: base64 of the raw bytes}`."""
    try:
        secret = get_secret_string(
            instance["aws_endpoint_url"],
            instance["region"],
            instance["aws_access_key_id"],
            instance["aws_secret_access_key"],
            secret_id,
        )
    except AwsError as exc:
        raise BootError(f"config secret {secret_id} could not be read: {exc}") from exc
    try:
        files = json.loads(secret)
    except ValueError as exc:
        raise BootError(f"config secret {secret_id} is not JSON: {exc}") from exc
    try:
        return decode_files(files, f"config secret {secret_id}")
    except DeliveryError as exc:
        raise BootError(str(exc)) from exc


def restore_step(instance: dict[str, Any], user_data: dict[str, Any]) -> None:
    """(a) Bring back the previous box's files, when this workspace persists its data."""
    if user_data.get("data_persistence") != "persist" or user_data.get("backend") == "docker":
        return
    if not os.path.isdir(layout.SNAPSHOT_DIR):
        log(f"restore: no snapshot at {layout.SNAPSHOT_DIR} (first box on this volume?)")
        return
    from reference.box import restore  # only a box with something to restore compiles it

    snapshot = Path(layout.SNAPSHOT_DIR)
    source = restore.snapshot_source(snapshot)
    reports = restore.restore(
        snapshot, restore.box_targets(), bool(instance.get("restore_template_files"))
    )
    for sub, report in reports.items():
        log(
            f"restore {sub}: {report.copied} entries, removed {report.removed}, "
            f"skipped {report.skipped}, errors {report.errors}"
        )
    restore.write_marker(Path(layout.CONFIGS_DIR), source)
    log(f"restore completed from {source or 'an unknown instance'}")


def deliver_step(instance: dict[str, Any], user_data: dict[str, Any], configs: Path) -> None:
    """(b) Fetch the staged config set and write it, or keep /configs when nothing was staged."""
    if "secret_id" in user_data and user_data["secret_id"] is None:
        # Nothing staged (docker-backend restart: /configs persists on purpose).
        stub = ensure_config(configs)
        log(f"no config secret in user-data: /configs kept as is, stub={stub}")
        return
    workspace_id = user_data["workspace_id"]
    secret_id = user_data.get("secret_id") or f"molecule/workspace/{workspace_id}/config"
    files = fetch_config_files(instance, secret_id)
    try:
        report = deliver(configs, files)
    except DeliveryError as exc:
        raise BootError(f"config set from {secret_id} rejected: {exc}") from exc
    log(
        f"delivered {len(report.written)} files, removed {report.removed}, "
        f"stub={report.stub_written}"
    )


def boot(instance: dict[str, Any], user_data: dict[str, Any], registry: Registry) -> None:
    if instance.get("boot_delay_s"):
        log(f"slow-boot: waiting {instance['boot_delay_s']}s")
        time.sleep(float(instance["boot_delay_s"]))
    if instance.get("volume_error"):
        raise BootError(instance["volume_error"])
    configs = Path(layout.CONFIGS_DIR)
    try:
        restore_step(instance, user_data)
    except OSError as exc:
        raise BootError(f"restore from {layout.SNAPSHOT_DIR} failed: {exc}") from exc
    deliver_step(instance, user_data, configs)
    try:
        names, mirrored = install_declared(
            configs, user_data.get("env") or {}, registry, user_data["workspace_id"]
        )
    except PluginError as exc:
        raise BootError(str(exc)) from exc
    log(f"plugins {names}: {len(mirrored.written)} files, removed {mirrored.removed}")
    if names:
        effects_step(instance, configs)


def effects_step(instance: dict[str, Any], configs: Path) -> None:
    """(d) What the runtime does with the installed plugins (reference/box/plugin_effects.py)."""
    from reference.box.plugin_effects import apply_plugin_effects  # only with plugins

    try:
        effects = apply_plugin_effects(
            configs,
            root_skill=str(instance.get("root_skill") or "fragment"),
            repeat_blocks=bool(instance.get("plugin_rules_repeat")),
        )
    except (OSError, ValueError) as exc:
        raise BootError(f"plugin effects could not be applied: {exc}") from exc
    log(
        f"plugin effects: appended {effects.appended}, already there {len(effects.skipped)}, "
        f"wrote {effects.written}, warnings {effects.warnings}"
    )


def run(instance: dict[str, Any]) -> dict[str, Any] | None:
    """Boot; the user-data on success, None after reporting the failure."""
    log("start")
    try:
        user_data = read_user_data()
    except (OSError, BootError) as exc:
        log(f"FAILED before the platform is known: {exc}")
        return None
    registry = Registry.for_user_data(user_data)
    try:
        boot(instance, user_data, registry)
    except BootError as exc:
        log(f"FAILED: {exc}")
        try:
            registry.boot_failed(user_data["workspace_id"], instance["instance_id"], str(exc))
        except RegistryError as report_exc:
            log(f"could not report the failure: {report_exc}")
        return None
    log("done")
    return user_data
