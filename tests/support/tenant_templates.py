"""The templates every API-test stack imports at start: `plain` (boots a box, no plugins, so no
reconcile restart), `over-cap` (over the tenant's 256 KiB: fails before the control plane, no
box) and `over-secret` (under 256 KiB, but its secret would pass Secrets Manager's 64 KiB)."""

from __future__ import annotations

PLAIN = {
    "config.yaml": "name: plain\nruntime: claude-code\nmodel: claude-sonnet-4-5\n"
    "prompt_files:\n  - prompts/system.md\n  - prompts/deep/a.md\n",
    "prompts/system.md": "You are the plain test agent.\n",
    "prompts/deep/a.md": "A prompt two levels down.\n",
}
CONFIG = "runtime: claude-code\nmodel: m\n"
OVER_CAP = {"config.yaml": CONFIG, "prompts/big.md": "x" * (256 * 1024)}  # 256 KiB + config
OVER_SECRET = {"config.yaml": CONFIG, "prompts/mid.md": "y" * (60 * 1024)}  # base64: > 64 KiB
