"""What the control plane stages (reference/controlplane/staging.py, app.py): strict base64
decoding that names the bad path, the normalisation product faults, the flat secret payload and
Secrets Manager's 64 KiB limit; a refused request answers JSON and creates nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from support.asgi_apps import AsgiClient

from reference.common.errors import ProvisionRefused
from reference.config import StackConfig
from reference.controlplane.app import build_cp_app
from reference.controlplane.staging import (
    apply_faults,
    check_size,
    decode_files,
    secret_id_for,
    secret_payload,
)

FILES = {
    "crlf.md": b"a\r\nb\r\n",
    "empty.md": b"",
    "Übersicht.md": b"u",
    "nofinal.md": b"q",
    "bin.md": b"\xff\xfe\x00",
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_decode_files_gives_back_the_raw_bytes() -> None:
    assert decode_files({rel: b64(data) for rel, data in FILES.items()}) == FILES


@pytest.mark.parametrize("value", ["not base64!", "YWJj\n", "YWJ", "YW=Jj", "   "])
def test_a_value_that_is_not_strict_base64_is_refused_naming_its_path(value: str) -> None:
    with pytest.raises(ProvisionRefused) as caught:
        decode_files({"config.yaml": b64(b"ok"), "prompts/bad.md": value})
    assert caught.value.status == 400 and caught.value.file == "prompts/bad.md"
    assert "config_files['prompts/bad.md'] is not base64" in caught.value.message


def test_no_fault_stages_every_byte_as_sent() -> None:
    assert apply_faults(FILES, frozenset()) == FILES


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("normalise-newlines", {**FILES, "crlf.md": b"a\nb\n"}),
        (
            "add-final-newline",
            {**FILES, "nofinal.md": b"q\n", "Übersicht.md": b"u\n", "bin.md": b"\xff\xfe\x00\n"},
        ),
        ("drop-empty-files", {k: v for k, v in FILES.items() if k != "empty.md"}),
        ("drop-non-ascii-names", {k: v for k, v in FILES.items() if k != "Übersicht.md"}),
    ],
)
def test_each_normalisation_fault_is_one_deviation(fault: str, expected: dict[str, bytes]) -> None:
    assert apply_faults(FILES, frozenset({fault})) == expected


def test_the_secret_is_a_flat_map_of_base64_under_the_workspace_id() -> None:
    assert secret_id_for("ws-1") == "molecule/workspace/ws-1/config"
    payload = json.loads(secret_payload(FILES))
    assert {k: base64.b64decode(v) for k, v in payload.items()} == FILES


def test_a_secret_over_64_kib_is_refused_with_413_and_its_size() -> None:
    check_size("w", "x" * (64 * 1024))
    with pytest.raises(ProvisionRefused) as caught:
        check_size("w", "x" * (64 * 1024 + 1))
    assert (caught.value.status, caught.value.size) == (413, 64 * 1024 + 1)
    assert "64" in caught.value.message or "65536" in caught.value.message


def test_the_cp_app_refuses_bad_base64_and_a_wrong_secret_before_any_aws_call(
    tmp_path: Path,
) -> None:
    config = StackConfig(state_dir=tmp_path, aws_endpoint_url="http://127.0.0.1:9")  # unreachable
    client = AsgiClient(build_cp_app(config))
    body = {"workspace_id": "w-1", "platform_url": "http://p", "config_files": {"a.md": "%%"}}
    answer = client.post(
        "/workspaces/provision", json=body, headers={"Authorization": f"Bearer {config.cp_secret}"}
    )
    assert answer.status_code == 400
    assert answer.json()["file"] == "a.md" and "is not base64" in answer.json()["error"]
    wrong = client.post("/workspaces/provision", json=body, headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401 and isinstance(wrong.json()["error"], str)
