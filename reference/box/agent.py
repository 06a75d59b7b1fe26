"""The box's long-lived agent: reads /configs/config.yaml, registers, heartbeats.

Runs in the box's init process after boot, kept lean (no boto3, no urllib, no OpenSSL): fifty
boxes live at once. An invalid config.yaml is reported once to the platform
(`/registry/boot-failed`) and the agent stops with code 3; nothing restarts it, so nothing
crash-loops silently. After a successful register it saves its token to `/configs/.auth_token`
(0600), as the product runtime does: one of the files in `/configs` that are neither the
user's nor the template's.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from reference.box import boxlog, layout
from reference.box.delivery import DeliveryError, check_relpath
from reference.box.registry import Registry, RegistryError

try:
    from _sha256 import sha256  # builtin, unlike hashlib's OpenSSL (~5 MiB per process)
except ImportError:  # pragma: no cover
    from hashlib import sha256

EXIT_INVALID_CONFIG = 3
EXIT_REFUSED = 4


class ConfigError(Exception):
    """config.yaml cannot be used; the message says why."""


def log(message: str) -> None:
    boxlog.log("agent", message)


def load_yaml() -> Any:
    """pyyaml from the venv's site-packages (bound read-only), appended after the stdlib."""
    if layout.SITE_DIR not in sys.path and Path(layout.SITE_DIR).is_dir():
        sys.path.append(layout.SITE_DIR)
    import yaml

    return yaml


def parse_config(text: str) -> dict[str, Any]:
    yaml = load_yaml()

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"/configs/config.yaml is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"/configs/config.yaml must be a mapping, got {type(data).__name__}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("/configs/config.yaml: 'name' must be a non-empty string")
    role = data.get("role", "")
    if not isinstance(role, str):
        raise ConfigError("/configs/config.yaml: 'role' must be a string")
    prompts = data.get("prompt_files") or []
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise ConfigError("/configs/config.yaml: 'prompt_files' must be a list of paths")
    for path in prompts:
        try:
            check_relpath(path)
        except DeliveryError as exc:
            raise ConfigError(f"/configs/config.yaml: prompt_files: {exc}") from exc
    return data


def build_card(configs: Path) -> dict[str, Any]:
    """The agent_card: name, role, and the sha256 of every prompt file it loaded."""
    config_path = configs / "config.yaml"
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"/configs/config.yaml cannot be read: {exc}") from exc
    config = parse_config(text)
    digests: dict[str, str] = {}
    missing: list[str] = []
    for rel in config.get("prompt_files") or []:
        try:
            digests[rel] = sha256((configs / rel).read_bytes()).hexdigest()
        except OSError:
            missing.append(rel)
    card: dict[str, Any] = {
        "name": config["name"],
        "role": config.get("role", ""),
        "prompts": digests,
        "config_sha256": sha256(text.encode("utf-8")).hexdigest(),
    }
    if missing:
        card["missing_prompts"] = missing
    return card


def save_token(configs: Path, token: str) -> None:
    """Write the token atomically, never readable by anyone but its owner, even mid-write."""
    path = configs / layout.AUTH_TOKEN_FILE
    tmp = configs / f".{layout.AUTH_TOKEN_FILE}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def run(instance: dict[str, Any], user_data: dict[str, Any]) -> int:
    """Register and heartbeat until the box ends; returns only when the agent must stop."""
    log("start")
    workspace_id, instance_id = user_data["workspace_id"], instance["instance_id"]
    registry = Registry.for_user_data(user_data)
    interval = float(user_data.get("heartbeat_s") or instance.get("heartbeat_s") or 0.4)
    try:
        card = build_card(Path(layout.CONFIGS_DIR))
    except ConfigError as exc:
        log(f"FAILED: {exc}")
        try:
            registry.boot_failed(workspace_id, instance_id, str(exc))
        except RegistryError as report_exc:
            log(f"could not report the failure: {report_exc}")
        return EXIT_INVALID_CONFIG
    if card.get("missing_prompts"):
        log(f"prompt files missing from /configs: {card['missing_prompts']}")
    url = f"http://{instance.get('private_ip') or '127.0.0.1'}:8000"
    while True:
        try:
            registry.register(workspace_id, instance_id, url, card)
            break
        except RegistryError as exc:
            log(f"register failed: {exc}")
            if (
                exc.status is not None and exc.status < 500
            ):  # refused (e.g. no longer the current instance): stop
                return EXIT_REFUSED
            time.sleep(0.5)
    log(f"registered {workspace_id} on {instance_id} as {card['name']!r}")
    try:
        save_token(Path(layout.CONFIGS_DIR), user_data["workspace_token"])
    except OSError as exc:
        log(f"could not save {layout.AUTH_TOKEN_FILE}: {exc}")
    while True:
        time.sleep(interval)
        try:
            registry.heartbeat(workspace_id, instance_id)
        except RegistryError as exc:
            log(f"heartbeat failed: {exc}")
            if exc.status in (401, 403, 409):  # no longer this workspace's box: stop quietly
                return EXIT_REFUSED
            if exc.status == 404:  # the platform forgot us (restarted): register again
                try:
                    registry.register(workspace_id, instance_id, url, card)
                except RegistryError as reg_exc:
                    log(f"re-register failed: {reg_exc}")
