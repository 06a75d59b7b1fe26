"""The redaction gate's parts: what the registry masks (by length, escaped, encoded, cut), what
it learns from text, the off switch, masking before cutting in the report helpers, log
records, files in place, and the pytest plugin on a run's terminal output and JUnit file."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.harness import report
from e2e.harness.ssm import CommandResult
from e2e.redaction import logs, scrub
from e2e.redaction.secrets import REGISTRY, Registry

REPO = Path(__file__).resolve().parent.parent
SECRET = "tok-REDACTME-0123456789abcdef"


def fresh(*values: str) -> Registry:
    registry = Registry()
    registry.register(*values)
    return registry


def test_long_values_are_masked_anywhere_also_escaped_and_encoded() -> None:
    reg = fresh("a/b+c=LONGSECRET42")
    assert reg.redact("x a/b+c=LONGSECRET42 y") == "x *** y"
    assert reg.redact("q=a%2Fb%2Bc%3DLONGSECRET42&") == "q=***&"
    for pad in range(3):
        blob = base64.b64encode(b"<" * pad + b"a/b+c=LONGSECRET42" + b">").decode()
        assert "***" in reg.redact(blob), blob


def test_a_cut_leaves_no_piece_of_eight_or_more() -> None:
    reg = fresh(SECRET)
    assert reg.redact(f"head {SECRET[:12]}") == "head ***"  # cut at the end of a text
    assert reg.redact(f"{SECRET[-9:]} tail") == "*** tail"  # cut at the start (a tail)
    assert reg.redact(f"x {SECRET[:7]}") == f"x {SECRET[:7]}"  # shorter pieces: cut after masking


def test_short_values_only_as_whole_words_and_tiny_ones_never(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reg = Registry()
    reg.register("pw42", source="E2E_X_PASSWORD")
    reg.register("ab", source="E2E_TINY_TOKEN")
    assert reg.redact("pass=pw42; id=xpw42y ab") == "pass=***; id=xpw42y ab"
    assert "E2E_TINY_TOKEN is shorter than 4 characters" in caplog.text
    assert "ab" not in caplog.text.replace("E2E_TINY_TOKEN", "")


def test_env_secrets_by_name_and_switches_left_alone(tmp_path: Path) -> None:
    secrets_file = tmp_path / "s.json"
    secrets_file.write_text('{"MODEL_KEY": "file-secret-value-123"}')
    reg = Registry()
    reg.register_env(
        {
            "E2E_ADMIN_TOKEN": "admin-token-value-1",
            "E2E_CP_ADMIN_TOKEN": "cp-token-value-2",
            "AWS_SECRET_ACCESS_KEY": "aws-secret-value-3",
            "AWS_SESSION_TOKEN": "aws-session-value-4",
            "AWS_ACCESS_KEY_ID": "AKIAIDENTIFIER0000",  # an identifier, not a secret
            "E2E_PLATFORM_URL": "https://tenant.example.com",
            "E2E_SECRETS_FILE": str(secrets_file),
            "E2E_SOME_TOKEN_CHECK": "true",
        }
    )
    text = reg.redact(
        "admin-token-value-1 cp-token-value-2 aws-secret-value-3 aws-session-value-4 "
        "file-secret-value-123 AKIAIDENTIFIER0000 https://tenant.example.com true"
    )
    assert text == "*** *** *** *** *** AKIAIDENTIFIER0000 https://tenant.example.com true"


def test_values_the_text_calls_secret_are_learned_everywhere() -> None:
    reg = Registry()
    user_data = '{"workspace_id": "w1", "workspace_token": "wst-0a1b2c3d4e5f6a7b"}'
    assert reg.redact(user_data) == '{"workspace_id": "w1", "workspace_token": "***"}'
    assert reg.redact("later: wst-0a1b2c3d4e5f6a7b") == "later: ***"
    assert reg.redact("Authorization: Bearer abcdef0123456789") == "Authorization: Bearer ***"
    assert reg.redact("token = secrets.token_hex(8)") == "token = secrets.token_hex(8)"


def test_the_off_switch_is_refused_on_staging() -> None:
    reg = fresh(SECRET)
    reg.configure({"E2E_REDACT": "0", "E2E_TARGET": "staging"})
    assert reg.redact(SECRET) == "***"
    reg.configure({"E2E_REDACT": "0", "E2E_TARGET": "embedded"})
    assert reg.redact(SECRET) == SECRET
    reg.configure({})
    assert reg.redact(SECRET) == "***"


def test_report_helpers_mask_before_they_cut() -> None:
    """Each cut below would keep exactly 7 characters of the token: too short for the piece
    matcher (8), so only masking before cutting keeps them out."""
    secret = "tok-CUTCANARY-0123456789abcdefghij"
    report.register_secret(secret)
    assert secret[:7] not in report.cap("x" * 93 + secret, limit=100)
    payload = {"tail": "y" * 113 + secret}
    event = {"id": "e1", "created_at": "t", "event_type": "E", "payload": payload}
    assert secret[:7] not in report.timeline([event])
    result = CommandResult("i-1", "c-1", "Success", 0, secret + "z" * 1493, "", 0.1, script="")
    assert secret[-7:] not in result.describe(limit=1500)


def test_log_records_of_any_logger_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    REGISTRY.register(SECRET)
    logs.install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("e2e.platform").info("answer %s", {"token": SECRET})
        try:
            raise RuntimeError(f"boom {SECRET}")
        except RuntimeError:
            logging.getLogger("e2e.deep.child").exception("failed")
    assert SECRET not in caplog.text
    assert "answer {'token': '***'}" in caplog.text and "boom ***" in caplog.text


def test_files_are_masked_in_place_keeping_every_offset(tmp_path: Path) -> None:
    reg = fresh(SECRET)
    path = tmp_path / "stack.stderr.log"
    path.write_text(f"line 1\nAuthorization: Bearer {SECRET}\nline 3\n")
    size = path.stat().st_size
    assert scrub.file(path, reg) == 1
    assert path.read_text() == f"line 1\nAuthorization: Bearer {'*' * len(SECRET)}\nline 3\n"
    assert path.stat().st_size == size
    with path.open("a") as appending:  # a stack still writing loses nothing
        appending.write("line 4\n")
    assert path.read_text().endswith("line 3\nline 4\n")


PROBE = """
import logging, os, pytest

def test_leaks(record_property, record_testsuite_property):
    secret = os.environ["E2E_PROBE_TOKEN"]
    print("stdout", secret)
    logging.getLogger("e2e.probe").warning("log %s", secret)
    record_property("prop", secret)
    record_testsuite_property("suite", secret)
    assert secret == "", f"failure text {secret[:20]}"
"""


@pytest.mark.parametrize("redact", [True, False], ids=["masked", "off"])
def test_the_plugin_masks_terminal_and_junit(tmp_path: Path, redact: bool) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {**os.environ, "E2E_PROBE_TOKEN": SECRET, "PYTHONPATH": str(REPO)}
    env.pop("E2E_TARGET", None)
    if not redact:
        env["E2E_REDACT"] = "0"
    flags = ["-p", "no:cacheprovider", "--junitxml", "junit.xml", "-rA", "-o", "junit_logging=all"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "test_probe.py", "-p", "e2e.redaction.plugin", *flags],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout
    output = run.stdout + run.stderr + (tmp_path / "junit.xml").read_text()
    for piece in ("failure text", "stdout", "log", 'name="prop"', 'name="suite"'):
        assert piece in output, piece
    assert (SECRET[:12] in output) is not redact, output[-3000:]
