"""Box boot end to end: EC2 launch → restore → secret → /configs → plugins → agent registers.

Each test provisions like the control plane (docs/contract.md) and reads the box over SSM.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from reference.box.delivery import STUB_CONFIG
from reference.fleet.box_options import BoxOptions

CONFIG_YAML = "name: seo-agent\nrole: SEO strategist\nprompt_files:\n  - prompts/system.md\n"
TEMPLATE = {
    "config.yaml": CONFIG_YAML,
    "prompts/system.md": "You are an SEO agent.\n",
    "prompts/retired.md": "to be dropped next time\n",
}
SEO_ALL = {"plugin.yaml": "name: seo-all\n", "SKILL.md": "# SEO all\n"}
SEO_SOURCE = (
    "gitea://molecule-ai/molecule-ai-workspace-template-seo-agent/agent-skills/seo-all#main"
)


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


def shas(files: dict[str, str] | dict[str, bytes]) -> dict[str, str]:
    return {f"./{rel}": sha(data) for rel, data in files.items()}


def test_boot_delivers_configs_installs_plugins_registers_and_heartbeats(
    workspaces: Any,
) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    workspaces.registry.serve_plugin(ws, "seo-all", SEO_ALL, SEO_SOURCE)
    iid = workspaces.launch(ws, workspaces.new_volume(ws), plugins=[SEO_SOURCE])
    registered = workspaces.registered(ws, iid)
    card = registered["agent_card"]
    assert (card["name"], card["role"]) == ("seo-agent", "SEO strategist")
    assert card["prompts"] == {"prompts/system.md": sha(TEMPLATE["prompts/system.md"])}
    workspaces.wait_until(
        "3 heartbeats", lambda: len(workspaces.registry.of("heartbeat", ws)), lambda n: n >= 3
    )
    claude_md = "# Plugin: seo-all / fragment: SKILL.md\n\n# SEO all\n"
    assert manifest(workspaces, iid, "/configs") == {
        **shas(TEMPLATE),
        "./plugins/seo-all/plugin.yaml": sha(SEO_ALL["plugin.yaml"]),
        "./plugins/seo-all/SKILL.md": sha(SEO_ALL["SKILL.md"]),
        "./CLAUDE.md": sha(claude_md),
        "./.auth_token": sha("tok-" + ws[:8]),
    }
    assert read_box(workspaces, iid, "stat -c %a /configs/.auth_token") == "600\n"
    assert workspaces.registry.plugin_requests(ws) == ["seo-all"]
    assert workspaces.registry.refused_for(ws) == []  # the org header went with the GET


def test_delivery_is_byte_exact_for_awkward_files(workspaces: Any) -> None:
    files = {
        "config.yaml": b"name: awkward\r\nrole: crlf\r\n",
        "prompts/bom.md": b"\xef\xbb\xbfBOM first\n",
        "prompts/no-final-newline.md": b"no newline at the end",
        "prompts/empty.md": b"",
        "prompts/naïve café.md": b"non-ASCII name with a space\n",
        "prompts/one/two/three/four.md": b"nested\n",
    }
    ws = workspaces.new_id()
    workspaces.put_config(ws, files)
    iid = workspaces.launch(ws, persistence="ephemeral")
    assert workspaces.registered(ws, iid)["agent_card"]["name"] == "awkward"
    on_box = manifest(workspaces, iid, "/configs")
    assert on_box == {**shas(files), "./.auth_token": sha("tok-" + ws[:8])}
    sizes = read_box(workspaces, iid, "cd /configs/prompts && stat -c '%s %n' empty.md naïve*")
    assert sizes == "0 empty.md\n28 naïve café.md\n"


def test_snapshot_and_restore_carry_user_files_but_not_template_files(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    volume = workspaces.new_volume(ws)
    first = workspaces.launch(ws, volume)
    workspaces.registered(ws, first)
    read_box(
        workspaces,
        first,
        "echo mine > /configs/CLAUDE.md; mkdir -p /configs/.claude /workspace/src /root/.claude"
        " && echo '{}' > /configs/.claude/settings.json && echo code > /workspace/src/main.py"
        " && echo hacked > /configs/prompts/system.md && echo extra > /configs/prompts/extra.md"
        " && echo memory > /root/.claude/memory.md"
        " && echo scratch > /tmp/scratch && echo dot > /root/.bashrc_extra && mkdir /opt/tool",
    )
    workspaces.end(first)
    snapshot = workspaces.volume_dir(volume) / "snapshot"
    workspaces.wait_until(
        "snapshot of the first box",
        lambda: (
            (snapshot / "source-instance").exists() and (snapshot / "source-instance").read_text()
        ),
        lambda text: text == f"{first}\n",
    )
    # the next generation's template drops one prompt and changes another
    second_set = {"config.yaml": CONFIG_YAML, "prompts/system.md": "v2\n"}
    workspaces.put_config(ws, second_set)
    second = workspaces.launch(ws, volume)
    workspaces.registered(ws, second)
    on_box = manifest(workspaces, second, "/configs")
    marker = on_box.pop("./.restore-completed")
    assert on_box == {
        **shas(second_set),
        "./CLAUDE.md": sha("mine\n"),
        "./.claude/settings.json": sha("{}\n"),
        "./.auth_token": sha("tok-" + ws[:8]),
    }
    assert marker
    line = read_box(workspaces, second, "cat /configs/.restore-completed")
    assert re.fullmatch(rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ {first}\n", line), line
    assert manifest(workspaces, second, "/workspace") == {"./src/main.py": sha("code\n")}
    assert manifest(workspaces, second, "/root/.claude") == {"./memory.md": sha("memory\n")}
    leftovers = read_box(
        workspaces, second, "ls -A /tmp /root /opt; test -e /opt/tool && echo tool-survived; true"
    )
    assert "scratch" not in leftovers and "bashrc_extra" not in leftovers
    assert "tool-survived" not in leftovers


def test_a_box_that_never_restored_leaves_the_snapshot_alone(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    volume = workspaces.new_volume(ws)
    first = workspaces.launch(ws, volume)
    workspaces.registered(ws, first)
    read_box(workspaces, first, "echo precious > /workspace/data")
    workspaces.end(first)
    # the next box cannot even read its UserData, so it never restores
    broken = workspaces.launch(ws, volume, workspace_token="")
    workspaces.wait_online(broken)
    workspaces.end(broken)
    fleet = workspaces.stack.fleet
    workspaces.wait_until("box ended by the fleet", lambda: broken in fleet.boxes, lambda b: not b)
    snapshot = workspaces.volume_dir(volume) / "snapshot"
    assert (snapshot / "source-instance").read_text() == f"{first}\n"
    assert (snapshot / "workspace/data").read_text() == "precious\n"


def test_without_a_volume_nothing_survives(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    first = workspaces.launch(ws, persistence="ephemeral")
    workspaces.registered(ws, first)
    read_box(workspaces, first, "echo mine > /configs/CLAUDE.md; echo code > /workspace/main.py")
    workspaces.end(first)
    second = workspaces.launch(ws, persistence="ephemeral")
    workspaces.registered(ws, second)
    assert manifest(workspaces, second, "/configs") == {
        **shas(TEMPLATE),
        "./.auth_token": sha("tok-" + ws[:8]),
    }
    assert read_box(workspaces, second, "ls -A /workspace /root") == "/root:\n\n/workspace:\n"


def test_missing_config_yaml_boots_on_the_218_byte_stub(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, {"prompts/system.md": "only prompts\n"})
    iid = workspaces.launch(ws, workspaces.new_volume(ws))
    assert workspaces.registered(ws, iid)["agent_card"]["name"] == "workspace"
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
    assert workspaces.registry.refused_for(ws) == []  # boot-failed carried the org header
    workspaces.wait_online(iid)  # the box stays up for inspection


def test_bad_base64_in_the_secret_fails_boot_naming_the_path(workspaces: Any) -> None:
    ws = workspaces.new_id()
    secret = f"molecule/workspace/{ws}/config"
    workspaces.sm.create_secret(
        Name=secret, SecretString='{"config.yaml": "bmFtZTogYQo=", "prompts/x.md": "%%%"}'
    )
    iid = workspaces.launch(ws, persistence="ephemeral")
    failed = workspaces.wait_until(
        "boot-failed", lambda: workspaces.registry.of("boot-failed", ws), bool
    )
    assert "'prompts/x.md' is not valid base64" in failed[0]["error"]
    assert read_box(workspaces, iid, "ls -A /configs") == ""  # nothing written


def test_persist_without_a_volume_fails_boot_after_the_grace(
    workspaces: Any, aws_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws_stack.fleet.settings, "volume_grace_s", 0.3)
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    iid = workspaces.launch(ws)  # persist, but the control plane attached nothing
    failed = workspaces.wait_until(
        "boot-failed", lambda: workspaces.registry.of("boot-failed", ws), bool
    )
    assert failed[0]["error"] == f"no data volume attached to {iid} at /dev/sdf after 0.3s"
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


def test_docker_backend_restart_keeps_configs_without_a_secret(workspaces: Any) -> None:
    ws = workspaces.new_id()
    volume = workspaces.new_volume(ws)
    workspaces.put_config(ws, TEMPLATE)
    first = workspaces.launch(ws, volume, backend="docker", persistence="")
    workspaces.registered(ws, first)
    workspaces.end(first)
    workspaces.sm.delete_secret(
        SecretId=f"molecule/workspace/{ws}/config", ForceDeleteWithoutRecovery=True
    )
    second = workspaces.launch(ws, volume, backend="docker", persistence="", secret_id=None)
    workspaces.registered(ws, second)
    assert manifest(workspaces, second, "/configs") == {
        **shas(TEMPLATE),
        "./.auth_token": sha("tok-" + ws[:8]),
    }
    config_on_volume = workspaces.volume_dir(volume) / "configs/config.yaml"
    assert config_on_volume.read_text() == CONFIG_YAML  # the volume *is* /configs
    assert not (workspaces.volume_dir(volume) / "snapshot").exists()


def test_plugins_mirror_the_declared_set_after_a_restore(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    volume = workspaces.new_volume(ws)
    workspaces.registry.serve_plugin(ws, "seo-all", {"plugin.yaml": "a\n"})
    workspaces.registry.serve_plugin(ws, "extra", {"plugin.yaml": "b\n"})
    first = workspaces.launch(ws, volume, plugins=["local://seo-all", "extra"])
    workspaces.registered(ws, first)
    assert set(manifest(workspaces, first, "/configs/plugins")) == {
        "./seo-all/plugin.yaml",
        "./extra/plugin.yaml",
    }
    workspaces.end(first)
    second = workspaces.launch(ws, volume, plugins=["local://seo-all"])  # `extra` was lost
    workspaces.registered(ws, second)
    assert manifest(workspaces, second, "/configs/plugins") == {"./seo-all/plugin.yaml": sha("a\n")}


def test_a_declared_plugin_the_platform_cannot_serve_fails_boot(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    workspaces.launch(ws, persistence="ephemeral", plugins=["github://acme/missing#v1"])
    failed = workspaces.wait_until(
        "boot-failed", lambda: workspaces.registry.of("boot-failed", ws), bool
    )
    assert "plugin 'github://acme/missing#v1' could not be fetched" in failed[0]["error"]
    assert "HTTP 404" in failed[0]["error"]


RULES_PLUGIN = {
    "plugin.yaml": "name: guard\n",
    "rules/a.md": "Always be careful.\n",
    "rules/b.md": "Never rush.",
    "commands/check.md": "/check\n",
    "settings-fragment.json": '{"env": {"GUARD": "on", "MODE": "plugin"}}',
}
RULE_HEADERS = ["# Plugin: guard / rule: a.md", "# Plugin: guard / rule: b.md"]


def boot_generations(
    spaces: Any, ws: str, volume: str, count: int, user_edits: bool = True
) -> list[str]:
    """`count` boxes in a row on one volume, each ended before the next (a restart); the
    user's edits (over what the plugin put there) are made on the first."""
    ids = []
    for n in range(count):
        iid = spaces.launch(ws, volume, plugins=["local://guard"])
        spaces.registered(ws, iid)
        if n == 0 and user_edits:
            read_box(
                spaces,
                iid,
                "printf 'user memory\\n' > /configs/CLAUDE.md"
                ' && printf \'{"env": {"MODE": "user"}}\' > /configs/.claude/settings.json'
                " && echo 'user edit' > /configs/.claude/commands/check.md",
            )
        ids.append(iid)
        if n < count - 1:
            spaces.end(iid)
    return ids


def test_plugin_effects_apply_once_across_three_boots(workspaces: Any) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    workspaces.registry.serve_plugin(ws, "guard", RULES_PLUGIN)
    last = boot_generations(workspaces, ws, workspaces.new_volume(ws), 3)[-1]
    claude = read_box(workspaces, last, "cat /configs/CLAUDE.md")
    assert claude == (
        "user memory\n"
        "\n# Plugin: guard / rule: a.md\n\nAlways be careful.\n"
        "\n# Plugin: guard / rule: b.md\n\nNever rush.\n"
    )
    settings = read_box(workspaces, last, "cat /configs/.claude/settings.json")
    assert settings == '{\n  "env": {\n    "GUARD": "on",\n    "MODE": "user"\n  }\n}\n'
    assert read_box(workspaces, last, "cat /configs/.claude/commands/check.md") == "user edit\n"


def test_the_rules_repeat_fault_appends_on_every_boot(
    workspaces: Any, aws_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws_stack.fleet.settings, "options", BoxOptions(plugin_rules_repeat=True))
    ws = workspaces.new_id()
    workspaces.put_config(ws, TEMPLATE)
    workspaces.registry.serve_plugin(ws, "guard", RULES_PLUGIN)
    last = boot_generations(workspaces, ws, workspaces.new_volume(ws), 2, user_edits=False)[-1]
    lines = read_box(workspaces, last, "cat /configs/CLAUDE.md").splitlines()
    assert [lines.count(header) for header in RULE_HEADERS] == [2, 2]
