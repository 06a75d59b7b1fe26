"""The box's boot step (user-data): fetch the config secret, write /configs, fetch plugins.

Runs in the box's init process right before the agent, with stdlib clients only (a SigV4-signed
GetSecretValue instead of boto3: 0.3-0.5 s of import and client setup, and ~40 MiB, saved per
box). Any failure is reported to the platform (`/registry/boot-failed`) with a message naming
what was missing; the box itself stays up so it can still be inspected over SSM.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from reference.box import boxlog, layout
from reference.box.aws_lite import AwsError, get_secret_string
from reference.box.delivery import DeliveryError, deliver, ensure_config, mirror_plugins
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
    return data


def fetch_config_files(instance: dict[str, Any], secret_id: str) -> dict[str, str]:
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
        files = json.loads(secret)["config_files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BootError(
            f"config secret {secret_id} is not JSON with a 'config_files' map: {exc!r}"
        ) from exc
    if not isinstance(files, dict):
        raise BootError(f"config secret {secret_id}: 'config_files' is not a map")
    return files


def boot(instance: dict[str, Any], user_data: dict[str, Any], registry: Registry) -> None:
    workspace_id = user_data["workspace_id"]
    if instance.get("boot_delay_s"):
        log(f"slow-boot: waiting {instance['boot_delay_s']}s")
        time.sleep(float(instance["boot_delay_s"]))
    if instance.get("volume_error"):
        raise BootError(instance["volume_error"])
    configs = Path(layout.CONFIGS_DIR)
    if "secret_id" in user_data and user_data["secret_id"] is None:
        # Docker-mode restart: /configs persists and nothing is re-delivered, on purpose.
        stub = ensure_config(configs)
        log(f"no config secret in user-data: /configs kept as is, stub={stub}")
    else:
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
    try:
        plugins = registry.plugins(workspace_id) or []
    except RegistryError as exc:
        raise BootError(f"installed plugins could not be fetched: {exc}") from exc
    if not isinstance(plugins, list):
        raise BootError(f"installed plugins answer is not a list: {plugins!r:.200}")
    try:
        mirrored = mirror_plugins(configs, plugins)
    except DeliveryError as exc:
        raise BootError(f"installed plugins could not be written: {exc}") from exc
    log(
        f"plugins {[p.get('name') for p in plugins]}: {len(mirrored.written)} files, "
        f"removed {mirrored.removed}"
    )


def run(instance: dict[str, Any]) -> dict[str, Any] | None:
    """Boot; the user-data on success, None after reporting the failure."""
    log("start")
    try:
        user_data = read_user_data()
    except (OSError, BootError) as exc:
        log(f"FAILED before the platform is known: {exc}")
        return None
    registry = Registry(user_data["platform_url"], user_data["workspace_token"])
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
