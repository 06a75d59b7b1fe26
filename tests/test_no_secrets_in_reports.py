"""No secret reaches a report, a log or a stack log.

The suite runs in a subprocess, the CI way (everything from env, `-p e2e.allure_env`, Allure
and JUnit under a reports directory), with recognisable canary secrets, along the three paths
where secrets have leaked: the timeout diagnostics of a wait (a box's log tail with user-data
and environment in the event timeline, an AWS endpoint that echoes the session token), the
refusal tests' error texts (a platform that echoes the request's headers), and the stack logs
of an embedded stack at DEBUG (botocore logs each box's user-data, base64, with its workspace
token). Every byte under the reports directory — Allure results and attachments, JUnit, the
stack logs, the terminal output — is then searched for the canaries: plain, base64-encoded,
and any cut-off piece of one.

Each path runs twice: masked, nothing may be found; with the redactor off (`E2E_REDACT=0`,
honoured only off staging), the canaries of that path must be found — so the search can fail,
and the path really carries them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.leaky_product import ORG_ID, serve

REPO = Path(__file__).resolve().parent.parent
CANARIES = {
    "admin token": "adm-LEAKCANARY-admin-5f0c1e9a7b",
    "control-plane secret": "cp-LEAKCANARY-cpsecret-8d2e4a",
    "CP admin token": "cpadm-LEAKCANARY-9a8b7c6d5e4f",
    "AWS secret access key": "LEAKCANARYawsSecretKey7Qx3Vb9Zm2Lk5Tn8Rw4",
    "AWS session token": "LEAKCANARYsessTok6Hp2Jd8Wc4Ny7Fs3GqZ",
    "workspace token": "wst-LEAKCANARYws3e9b71d0c5a8f2",
    "userdata token": "LEAKCANARYuserdata64c2e9f1b7a3d5",  # only ever seen in user-data
}
MARKER = "LEAKCANARY"  # in every canary: its first 6 characters find what a cut left of one
STACK_TOKEN = re.compile(rb"wst-[0-9a-f]{12,}")  # the reference's own workspace tokens
B64_RUN = re.compile(rb"[A-Za-z0-9+/]{24,}={0,2}")
WINDOW = 8


def _variants(secret: str) -> list[bytes]:
    """The secret as bytes, and as it would look base64-encoded at any of the 3 alignments."""
    raw = secret.encode()
    found = [raw]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        found.append(encoded[4 if pad else 0 : -4])  # drop the chunks touched by padding
    return [v for v in found if len(v) >= 12]


def _decoded(data: bytes) -> bytes:
    """Every base64-looking run decoded (at each alignment): where tokens hide in logs."""
    out = []
    for match in B64_RUN.finditer(data):
        run = match.group(0).rstrip(b"=")
        for skip in range(4):
            chunk = run[skip:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            try:
                out.append(base64.b64decode(chunk))
            except ValueError:
                continue
    return b"\n".join(out)


def _windows(secret: str, others: list[str]) -> set[bytes]:
    """Every 8-character piece of the secret that no other canary shares (the marker's)."""
    pieces = {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}
    return {p.encode() for p in pieces if not any(p in other for other in others)}


def find_secrets(root: Path, secrets: dict[str, str]) -> list[str]:
    """`path: what` for every file under root that holds a secret: whole, base64-encoded, or
    any piece of 8 characters (what masking a neighbour or a cut could leave)."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found = []
        for what, secret in secrets.items():
            if any(variant in data for variant in _variants(secret)):
                found.append(what)
            others = [s for s in secrets.values() if s != secret]
            if what not in found and any(w in data for w in _windows(secret, others)):
                found.append(f"a piece of the {what}")
        if not found and MARKER[:6].encode() in data:
            found.append("a piece of a canary")
        if STACK_TOKEN.search(data) or STACK_TOKEN.search(_decoded(data)):
            found.append("a workspace token (wst-…)")
        hits += [f"{path.relative_to(root)}: {what}" for what in found]
    return hits


def test_the_scan_finds_planted_secrets(tmp_path: Path) -> None:
    """The search can fail: plain, nested, JSON, base64, cut pieces and unknown tokens."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "clean.txt").write_text("nothing to see")
    (tmp_path / "a" / "log.txt").write_text(f"Authorization: Bearer {CANARIES['admin token']}\n")
    (tmp_path / "a" / "b" / "x-attachment.json").write_text(
        json.dumps({"env": {"AWS_SECRET_ACCESS_KEY": CANARIES["AWS secret access key"]}})
    )
    for offset in range(3):
        blob = base64.b64encode(b"x" * offset + CANARIES["control-plane secret"].encode() + b"y")
        (tmp_path / f"report-{offset}.html").write_bytes(b"data:;base64," + blob)
    (tmp_path / "cut.txt").write_text('{"workspace_token": "LEAKCAN')
    tail = CANARIES["userdata token"][len(MARKER) :]  # a neighbour's mask took the marker
    (tmp_path / "tail.txt").write_text(f'{{"workspace_token": "***{tail}"}}')
    user_data = json.dumps({"workspace_token": "wst-" + "0123456789abcdef" * 2}).encode()
    (tmp_path / "stack.log").write_bytes(b"UserData: " + base64.b64encode(user_data))
    assert find_secrets(tmp_path, CANARIES) == [
        "a/b/x-attachment.json: AWS secret access key",
        "a/log.txt: admin token",
        "cut.txt: a piece of a canary",
        "report-0.html: control-plane secret",
        "report-1.html: control-plane secret",
        "report-2.html: control-plane secret",
        "stack.log: a workspace token (wst-…)",
        "tail.txt: a piece of the userdata token",
    ]


REFUSALS = "401 or tenant_guard or traversal or unknown_template"
PATHS: dict[str, dict[str, Any]] = {
    "timeout diagnostics": {
        "args": ["e2e/test_gate.py", "-n", "1"],
        "env": {"E2E_DEADLINE_S": "15"},
        "says": ["online after create", "WaitTimeout", "events:"],
        "carries": {"userdata token", "AWS secret access key", "CP admin token"},
    },
    "refusal texts": {
        "args": ["e2e/test_refusals.py", "-n", "2", "-k", REFUSALS],
        "env": {},
        "says": ["expected 400, got 201", "expected 401, got 200"],
        "carries": {"admin token", "workspace token"},
    },
    "stack logs": {
        "args": ["e2e/test_gate.py"],
        "env": {"E2E_TARGET": "embedded", "REFERENCE_LOG_LEVEL": "DEBUG"},
        "says": ["1 passed"],
        "carries": {"a workspace token (wst-…)"},
    },
}


def run_suite(reports: Path, path: dict[str, Any], url: str, redact: bool) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("E2E_", "AWS_", "REFERENCE_"))}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "E2E_TARGET": "external",
            "E2E_PLATFORM_URL": url,
            "E2E_ADMIN_TOKEN": CANARIES["admin token"],
            "E2E_CP_ADMIN_TOKEN": CANARIES["CP admin token"],
            "E2E_ORG_ID": ORG_ID,
            "E2E_RESTARTS": "0",
            "E2E_LOG_DIR": str(reports / "stack-logs"),
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "AKIALEAKCANARY000001".replace("LEAKCANARY", "CANARYKEY0"),
            "AWS_SECRET_ACCESS_KEY": CANARIES["AWS secret access key"],
            "AWS_SESSION_TOKEN": CANARIES["AWS session token"],
            "AWS_REGION": "us-east-1",
            "REFERENCE_ADMIN_TOKEN": CANARIES["admin token"],
            "REFERENCE_CP_SECRET": CANARIES["control-plane secret"],
            **path["env"],
        }
    )
    if env["E2E_TARGET"] == "embedded":  # the stack's own endpoints, not the leaky ones
        for name in ("E2E_PLATFORM_URL", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            env.pop(name)
    if not redact:
        env["E2E_REDACT"] = "0"
    flags = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    flags += ["-p", "e2e.allure_env", "--alluredir", str(reports / "allure-results")]
    flags += ["--junitxml", str(reports / "junit-e2e.xml"), "-o", "log_level=INFO"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *path["args"], *flags],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + "\n--- stderr ---\n" + run.stderr
    (reports / "pytest-output.log").write_text(output)
    return output


@pytest.mark.parametrize("name", list(PATHS))
def test_no_secret_reaches_a_report(tmp_path: Path, name: str) -> None:
    path = PATHS[name]
    with serve(CANARIES) as product:
        masked = run_suite(tmp_path / "masked", path, product.url, redact=True)
        bare = run_suite(tmp_path / "bare", path, product.url, redact=False)
    for output in (masked, bare):  # the run went where this path needs it to go
        missing = [s for s in path["says"] if s not in output]
        assert not missing, f"{name}: run did not say {missing}:\n{output[-6000:]}"
    files = [p for p in (tmp_path / "masked").rglob("*") if p.is_file()]
    assert any("attachment" in p.name for p in files) or name == "refusal texts", files
    leaks = find_secrets(tmp_path / "masked", CANARIES)
    assert not leaks, f"{name}: secrets under reports/:\n" + "\n".join(leaks)
    found = {hit.split(": ", 1)[1] for hit in find_secrets(tmp_path / "bare", CANARIES)}
    assert path["carries"] <= found, f"{name}: without the redactor, expected {path['carries']}"
