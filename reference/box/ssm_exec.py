"""How an `AWS-RunShellScript` command becomes a process, as amazon-ssm-agent does it.

Read from the agent's source (github.com/aws/amazon-ssm-agent, mainline, Oct 2024):

- `agent/plugins/runscript/runshellscript.go`: script name `_script.sh`, command `sh`, arguments
  `["-c"]`; `runscript.go` `runCommands` appends the script path, so the process is
  `sh -c <path>`. `sh` on Ubuntu (and in the box) is dash, and `sh -c <path>` *executes* the
  file: the kernel honours a `#!` line; without one, execve fails with ENOEXEC and dash runs the
  file itself. So a script without a shebang is a POSIX sh script, and bash-only syntax fails.
- `pluginutil.CreateScriptFile`: the commands joined with "\\n" plus a final "\\n", written with
  `appconfig.ReadWriteExecuteAccess` (0700); directories made with `MakeDirsWithExecuteAccess`
  (0700).
- The path: `appconfig.DefaultDataStorePath` (`/var/lib/amazon/ssm/`) + instance id +
  `document/orchestration/<command id>` (`mdsinteractor.go`, `runcommand/utils.go`), then the
  plugin name without colons (`awsrunShellScript`, `fileutil.BuildPath`) and the property id
  (`0.awsrunShellScript`).
- Working directory (`runscript.go`): an absolute `workingDirectory` is used as is; an empty or
  relative one is looked up under the command's `downloads` directory (which Run Command never
  fills) and otherwise falls back to the document's default, which Run Command leaves empty, so
  the command inherits the agent's own cwd. That is the service unit's
  `WorkingDirectory`: `/usr/bin/` for the deb/rpm packages (`packaging/*/amazon-ssm-agent.service`)
  and, on Ubuntu where the agent is a snap, snapd's `$SNAP_DATA`
  (`/var/snap/amazon-ssm-agent/<revision>`). Boxes imitate Ubuntu; the revision is made up.
- `executers_unix.go`: the shell leads its own process group (`Setpgid`), and a timeout sends
  SIGKILL to the whole group. Its environment is the agent's plus `AWS_SSM_INSTANCE_ID` and
  `AWS_SSM_REGION_NAME` (`executers.go` `prepareEnvironment`).
"""

from __future__ import annotations

import os
import re

from reference.box import layout

SHELL_ARGV = ["/bin/sh", "-c"]
SCRIPT_NAME = "_script.sh"
PLUGIN_DIR = "awsrunShellScript/0.awsrunShellScript"
DEFAULT_CWD = "/var/snap/amazon-ssm-agent/7993"
_SAFE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def script_path(instance_id: str, command_id: str) -> str:
    """Where the agent writes a command's script; ids are checked, never trusted as paths."""
    for value in (instance_id, command_id):
        if not _SAFE_ID.fullmatch(value):
            raise ValueError(f"refusing id {value!r} in an SSM script path")
    return (
        f"{layout.SSM_ORCHESTRATION_ROOT}/{instance_id}/document/orchestration/"
        f"{command_id}/{PLUGIN_DIR}/{SCRIPT_NAME}"
    )


def write_script(path: str, commands: list[str]) -> None:
    """The commands joined with newlines plus a final one, mode 0700, in 0700 directories."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o700)
    try:
        os.fchmod(fd, 0o700)
        data = ("\n".join(commands) + "\n").encode()
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def working_directory(requested: str) -> str:
    """The command's cwd: an absolute request as is, else the agent's own (see above)."""
    if requested and requested.startswith("/"):
        return requested
    os.makedirs(DEFAULT_CWD, exist_ok=True)
    return DEFAULT_CWD


def argv(path: str) -> list[str]:
    return [*SHELL_ARGV, path]


def command_env(base: dict[str, str], instance: dict[str, str]) -> dict[str, str]:
    """The agent's environment plus the variables it adds for every command."""
    env = dict(base)
    if instance.get("instance_id"):
        env["AWS_SSM_INSTANCE_ID"] = instance["instance_id"]
    if instance.get("region"):
        env["AWS_SSM_REGION_NAME"] = instance["region"]
    return env
