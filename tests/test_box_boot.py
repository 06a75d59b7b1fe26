"""Box boot end to end: EC2 launch → secret → /configs → plugins → agent registers.

Each test provisions like the control plane (docs/contract.md) and reads the box over SSM.
"""

from __future__ import annotations

import hashlib
from typing import Any

from reference.box.delivery import STUB_CONFIG

CONFIG_YAML = "name: seo-agent\nrole: SEO strategist\nprompt_files:\n  - prompts/system.md\n"
TEMPLATE = {
    "config.yaml": CONFIG_YAML,
    "prompts/system.md": "You are an SEO agent.\n",
    "prompts/retired.md": "to be dropped next time\n",
}


def read_box(spaces: Any, iid: str, script: str) -> str:
    answer = spaces.run(iid, script)
    assert answer["Status"] == "Success", answer
    return str(answer["StandardOutputContent"])


def manifest(spaces: Any, iid: str, top: str) -> dict[str, str]:
    """sha256 of every file under `top` on the box."""
    out = read_box(
        spaces, iid, f"cd {top} && find . -type f -print0 | sort -z | xargs -0r sha256sum"
    )
    return {line[66:]: line[:64] for line in out.splitlines()}


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def test_boot_delivers_configs_fetches_plugins_registers_and_heartbeats(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    workspaces.registry.plugins[ws] = [
        {
            "name": "seo-all",
            "source": "local://seo-all",
            "files": {"plugin.yaml": "name: seo-all\n"},
        }
    ]
    iid = workspaces.launch(ws, workspaces.new_volume(ws))
    registered = workspaces.wait_until(
        "register", lambda: workspaces.registry.of("register", ws), bool
    )
    assert registered[0]["instance_id"] == iid
    card = registered[0]["agent_card"]
    assert (card["name"], card["role"]) == ("seo-agent", "SEO strategist")
    assert card["prompts"] == {"prompts/system.md": sha(TEMPLATE["prompts/system.md"])}
    workspaces.wait_until(
        "3 heartbeats", lambda: len(workspaces.registry.of("heartbeat", ws)), lambda n: n >= 3
    )
    assert manifest(workspaces, iid, "/configs") == {
        **{f"./{rel}": sha(text) for rel, text in TEMPLATE.items()},
        "./plugins/seo-all/plugin.yaml": sha("name: seo-all\n"),
    }


def test_data_volume_carries_over_and_everything_else_starts_empty(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    volume = workspaces.new_volume(ws)
    first = workspaces.launch(ws, volume)
    workspaces.wait_online(first)
    read_box(
        workspaces,
        first,
        "echo mine > /configs/CLAUDE.md; mkdir -p /configs/.claude /workspace/src"
        " && echo '{}' > /configs/.claude/settings.json && echo code > /workspace/src/main.py"
        " && echo scratch > /tmp/scratch && echo dot > /root/.bashrc_extra && mkdir /opt/tool",
    )
    workspaces.terminate(first)
    workspaces.wait_until("first box gone", lambda: workspaces.ping(first), lambda s: s != "Online")
    # the new generation's template drops one prompt and changes another
    second_set = {"config.yaml": CONFIG_YAML, "prompts/system.md": "v2\n"}
    workspaces.put_config(ws, second_set)
    second = workspaces.launch(ws, volume, generation=2)
    workspaces.wait_until(
        "second registration",
        lambda: [r for r in workspaces.registry.of("register", ws) if r["instance_id"] == second],
        bool,
    )
    assert manifest(workspaces, second, "/configs") == {
        "./config.yaml": sha(CONFIG_YAML),
        "./prompts/system.md": sha("v2\n"),
        "./CLAUDE.md": sha("mine\n"),
        "./.claude/settings.json": sha("{}\n"),
    }
    assert manifest(workspaces, second, "/workspace") == {"./src/main.py": sha("code\n")}
    leftovers = read_box(
        workspaces, second, "ls -A /tmp /root /opt; test -e /opt/tool && echo tool-survived; true"
    )
    assert "scratch" not in leftovers and "bashrc_extra" not in leftovers
    assert "tool-survived" not in leftovers


def test_missing_config_yaml_boots_on_the_218_byte_stub(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, {"prompts/system.md": "only prompts\n"})
    iid = workspaces.launch(ws, workspaces.new_volume(ws))
    registered = workspaces.wait_until(
        "register", lambda: workspaces.registry.of("register", ws), bool
    )
    assert registered[0]["agent_card"]["name"] == "workspace"
    assert read_box(workspaces, iid, "wc -c < /configs/config.yaml").strip() == "218"
    assert manifest(workspaces, iid, "/configs")["./config.yaml"] == sha(STUB_CONFIG)


def test_missing_secret_fails_boot_with_a_named_error(workspaces: Any) -> None:
    ws = workspaces.new_id()
    iid = workspaces.launch(ws, workspaces.new_volume(ws))
    failed = workspaces.wait_until(
        "boot-failed", lambda: workspaces.registry.of("boot-failed", ws), bool
    )
    assert failed[0]["instance_id"] == iid
    assert f"molecule/workspace/{ws}/config" in failed[0]["error"]
    assert "ResourceNotFoundException" in failed[0]["error"]
    assert workspaces.registry.of("register", ws) == []
    workspaces.wait_online(iid)  # the box stays up for inspection


def test_missing_volume_fails_boot_with_a_named_error(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    iid = workspaces.launch(ws, "vol-0000000000000dead", attach=False)
    failed = workspaces.wait_until(
        "boot-failed", lambda: workspaces.registry.of("boot-failed", ws), bool
    )
    assert failed[0]["error"] == "data volume vol-0000000000000dead does not exist"
    assert workspaces.registry.of("register", ws) == []
    assert read_box(workspaces, iid, "ls -A /configs") == ""


def test_invalid_config_yaml_is_reported_once_not_crash_looped(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, {"config.yaml": "name: [broken\n"})
    iid = workspaces.launch(ws, workspaces.new_volume(ws))
    failed = workspaces.wait_until(
        "boot-failed", lambda: workspaces.registry.of("boot-failed", ws), bool
    )
    assert "/configs/config.yaml is not valid YAML" in failed[0]["error"]
    assert failed[0]["instance_id"] == iid
    # The agent stopped with its clear exit code, once, and nothing restarted it.
    box = workspaces.stack.fleet.boxes[iid]
    workspaces.wait_until("agent exit", lambda: box.agent_exit, lambda code: code is not None)
    assert box.agent_exit == 3
    log = read_box(workspaces, iid, "cat /var/log/molecule-boot.log")
    assert "agent: FAILED: /configs/config.yaml is not valid YAML" in log
    assert log.count("agent: start") == 1
    assert len(workspaces.registry.of("boot-failed", ws)) == 1
    assert workspaces.registry.of("register", ws) == []
    assert workspaces.registry.of("heartbeat", ws) == []


def test_docker_mode_restart_keeps_configs_without_a_secret(workspaces: Any) -> None:
    ws = workspaces.new_id()
    volume = workspaces.new_volume(ws)
    workspaces.put_config(ws, TEMPLATE)
    first = workspaces.launch(ws, volume)
    workspaces.wait_online(first)
    workspaces.wait_until("register", lambda: workspaces.registry.of("register", ws), bool)
    workspaces.terminate(first)
    workspaces.wait_until("first box gone", lambda: workspaces.ping(first), lambda s: s != "Online")
    workspaces.sm.delete_secret(
        SecretId=f"molecule/workspace/{ws}/config", ForceDeleteWithoutRecovery=True
    )
    second = workspaces.launch(ws, volume, generation=2, secret_id=None, backend="docker")
    workspaces.wait_until(
        "second registration",
        lambda: [r for r in workspaces.registry.of("register", ws) if r["instance_id"] == second],
        bool,
    )
    assert manifest(workspaces, second, "/configs") == {
        f"./{rel}": sha(text) for rel, text in TEMPLATE.items()
    }


def test_plugins_on_the_volume_mirror_what_the_platform_serves(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    volume = workspaces.new_volume(ws)
    workspaces.registry.plugins[ws] = [
        {"name": "seo-all", "source": "local://seo-all", "files": {"plugin.yaml": "a\n"}},
        {"name": "extra", "source": "local://extra", "files": {"plugin.yaml": "b\n"}},
    ]
    first = workspaces.launch(ws, volume)
    workspaces.wait_until("register", lambda: workspaces.registry.of("register", ws), bool)
    assert set(manifest(workspaces, first, "/configs/plugins")) == {
        "./seo-all/plugin.yaml",
        "./extra/plugin.yaml",
    }
    workspaces.terminate(first)
    workspaces.wait_until("first box gone", lambda: workspaces.ping(first), lambda s: s != "Online")
    workspaces.registry.plugins[ws] = workspaces.registry.plugins[ws][:1]  # `extra` was lost
    second = workspaces.launch(ws, volume, generation=2)
    workspaces.wait_until(
        "second registration",
        lambda: [r for r in workspaces.registry.of("register", ws) if r["instance_id"] == second],
        bool,
    )
    assert manifest(workspaces, second, "/configs/plugins") == {"./seo-all/plugin.yaml": sha("a\n")}
