"""No secret reaches a report or a log.

The gate runs (in a subprocess, the staging way: `E2E_TARGET=external`, everything from env)
against a reference stack forced to recognisable fake secrets, with fake AWS keys the harness
really signs with; then every byte under the run's reports directory — allure results and
attachments, JUnit, environment block, captured output — is searched for them, plain and
base64-encoded. The stack runs the `fresh-volume` product fault, so one cheap run covers both
paths that write reports: verifications that pass (provision, seeding over SSM, plugin install)
and a failure with its traceback, diff and event timeline. The failure must be the expected one:
a run that never reached the stack with those secrets proves nothing.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from e2e.harness.embedded import EmbeddedStack

REPO = Path(__file__).resolve().parent.parent

CANARIES = {
    "admin token": "adm-LEAKCANARY-admin-5f0c1e9a7b",
    "control-plane secret": "cp-LEAKCANARY-cpsecret-8d2e4a",
    "AWS secret access key": "LEAKCANARYawsSecretAccessKey0123456789abcd",
    "AWS session token": "LEAKCANARYawsSessionToken0123456789abcdefgh",
}
ORG_ID = "1eacca4a-0000-4000-8000-00000000beef"
ACCESS_KEY_ID = "AKIALEAKCANARY000001"  # an identifier, not a secret: only needs to be fake


def _variants(secret: str) -> list[bytes]:
    """The secret as bytes, and as it would look base64-encoded at any of the 3 alignments."""
    raw = secret.encode()
    found = [raw]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        found.append(encoded[4 if pad else 0 : -4])  # drop the chunks touched by padding
    return [v for v in found if len(v) >= 12]


def find_secrets(root: Path, secrets: dict[str, str]) -> list[str]:
    """`path: what` for every file under root that holds a secret (plain or base64)."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for what, secret in secrets.items():
            if any(variant in data for variant in _variants(secret)):
                hits.append(f"{path.relative_to(root)}: {what}")
    return hits


def test_the_scan_finds_planted_secrets(tmp_path: Path) -> None:
    """The grep can fail: plain, nested, inside JSON, and base64-encoded leaks are all found."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "clean.txt").write_text("nothing to see")
    (tmp_path / "a" / "log.txt").write_text(f"Authorization: Bearer {CANARIES['admin token']}\n")
    (tmp_path / "a" / "b" / "x-attachment.json").write_text(
        json.dumps({"env": {"AWS_SECRET_ACCESS_KEY": CANARIES["AWS secret access key"]}})
    )
    for offset in range(3):
        blob = base64.b64encode(b"x" * offset + CANARIES["control-plane secret"].encode() + b"y")
        (tmp_path / f"report-{offset}.html").write_bytes(b"data:;base64," + blob)
    hits = find_secrets(tmp_path, CANARIES)
    assert hits == [
        "a/b/x-attachment.json: AWS secret access key",
        "a/log.txt: admin token",
        "report-0.html: control-plane secret",
        "report-1.html: control-plane secret",
        "report-2.html: control-plane secret",
    ]


def test_gate_run_leaves_no_secret_under_reports(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    stack_env = {
        "REFERENCE_ADMIN_TOKEN": CANARIES["admin token"],
        "REFERENCE_CP_SECRET": CANARIES["control-plane secret"],
        "REFERENCE_ORG_ID": ORG_ID,
        "REFERENCE_STATE_DIR": str(tmp_path / "stack-state"),
        "REFERENCE_FAULTS": "fresh-volume",  # user data lost at the plugin-install restart
    }
    with EmbeddedStack(stack_env, log_dir=tmp_path / "stack-logs", label="canary-stack") as target:
        # the stack took the planted values: anything else would make this test vacuous
        assert target.admin_token == CANARIES["admin token"]
        assert target.org_id == ORG_ID
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("E2E_", "AWS_", "REFERENCE_", "PYTEST_"))
        }
        env.update(
            {
                "E2E_TARGET": "external",
                "E2E_PLATFORM_URL": target.platform_url,
                "E2E_ADMIN_TOKEN": CANARIES["admin token"],
                "E2E_ORG_ID": ORG_ID,
                "E2E_RESTARTS": "0",
                "E2E_LOG_DIR": str(reports / "stack-logs"),
                "AWS_ENDPOINT_URL": str(target.aws_endpoint_url),
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": CANARIES["AWS secret access key"],
                "AWS_SESSION_TOKEN": CANARIES["AWS session token"],
                "AWS_REGION": target.region,
            }
        )
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "e2e",
                "-m",
                "gate",
                "-p",
                "no:cacheprovider",
                "-p",
                "e2e.allure_env",
                "--alluredir",
                str(reports / "allure-results"),
                "--junitxml",
                str(reports / "junit-e2e.xml"),
                "-o",
                "log_level=INFO",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    (reports / "pytest-output.log").write_text(run.stdout + "\n--- stderr ---\n" + run.stderr)
    assert run.returncode == 1, run.stdout[-4000:] + run.stderr[-2000:]
    assert "VerificationFailed: DESIGN §4 violated after plugin install" in run.stdout, run.stdout
    assert "user/agent files lost" in run.stdout, run.stdout[-4000:]

    files = [p for p in reports.rglob("*") if p.is_file()]
    attachments = [p for p in files if p.name.endswith("-attachment.txt") or "attachment" in p.name]
    assert len(attachments) >= 3, f"too little to search: {sorted(p.name for p in files)}"
    assert (reports / "allure-results" / "environment.properties").is_file()
    leaks = find_secrets(reports, CANARIES)
    assert not leaks, "secrets under reports/:\n" + "\n".join(leaks)
