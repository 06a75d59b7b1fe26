"""Paths and limits a box and the fleet agree on (stdlib only: imported on both sides)."""

from __future__ import annotations

# Inside the sandbox.
CONFIGS_DIR = "/configs"
WORKSPACE_DIR = "/workspace"
CLAUDE_HOME = "/root/.claude"  # the agent's own state; saved across instances with the rest
DATA_MOUNT = "/mnt/molecule-data"  # saas: the data volume (when one is attached at /dev/sdf)
SNAPSHOT_DIR = DATA_MOUNT + "/snapshot"  # what the fleet saved when the previous box ended
# Snapshot layout (written by the fleet, read by the box): subdirectory → path in the box.
SNAPSHOT_TREES = {"configs": CONFIGS_DIR, "workspace": WORKSPACE_DIR, "claude-home": CLAUDE_HOME}
SNAPSHOT_SOURCE = "source-instance"  # file in the snapshot: the instance id it was taken from
RESTORE_MARKER = ".restore-completed"  # in /configs once a restore finished
AUTH_TOKEN_FILE = ".auth_token"  # in /configs: the workspace token, after a register
RUN_DIR = "/run/molecule"
USER_DATA_PATH = RUN_DIR + "/user-data"  # the instance's UserData, as EC2 would serve it
INSTANCE_PATH = RUN_DIR + "/instance.json"  # instance id, region, endpoint, ip, boot options
BOOT_LOG_PATH = "/var/log/molecule-boot.log"
AGENT_LOG_PATH = "/var/log/molecule-agent.log"
CODE_DIR = "/opt/molecule"  # read-only: holds the `reference/box` package
SITE_DIR = "/opt/molecule-site"  # read-only: the venv's site-packages (boto3, yaml)
PYTHON = "/usr/bin/python3"  # Debian's interpreter (the venv's lives under /root, unseen)

# SSM Run Command, laid out like amazon-ssm-agent (see reference/box/ssm_exec.py).
SSM_ORCHESTRATION_ROOT = "/var/lib/amazon/ssm"
