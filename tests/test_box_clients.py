"""The box's stdlib clients: SigV4 identical to botocore's, errors and retries as botocore's."""

from __future__ import annotations

import datetime
import json
from typing import Any
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from reference.box.aws_lite import AwsError, get_secret_string, sigv4_headers
from reference.box.registry import Registry, RegistryError

URL = "http://127.0.0.1:5000/"
HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "secretsmanager.GetSecretValue",
}


def test_sigv4_signature_matches_botocore() -> None:
    body = b'{"SecretId": "molecule/workspace/x/config"}'
    now = 1_790_000_000.0
    ours = sigv4_headers(URL, "us-east-1", "secretsmanager", "AKID", "SECRET", HEADERS, body, now)
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=URL, data=body, headers={**HEADERS, "X-Amz-Date": ours["X-Amz-Date"]}
    )
    frozen = datetime.datetime.fromtimestamp(now, datetime.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        credentials = botocore.credentials.Credentials("AKID", "SECRET")
        botocore.auth.SigV4Auth(credentials, "secretsmanager", "us-east-1").add_auth(request)
    assert ours["Authorization"] == request.headers["Authorization"]


def test_secret_is_read_through_the_stack_and_missing_one_is_named(workspaces: Any) -> None:
    cfg = workspaces.stack.config
    args = (cfg.aws_endpoint_url, cfg.region, cfg.aws_access_key_id, cfg.aws_secret_access_key)
    ws = workspaces.new_id()
    workspaces.put_config(ws, {"config.yaml": "name: a\n"})
    secret = get_secret_string(*args, f"molecule/workspace/{ws}/config")
    assert json.loads(secret) == {"config.yaml": "bmFtZTogYQo="}  # flat: relpath → base64
    with pytest.raises(AwsError) as caught:
        get_secret_string(*args, "molecule/workspace/missing/config")
    assert caught.value.code == "ResourceNotFoundException"


def test_throttling_is_retried_until_it_passes() -> None:
    answers = [
        (400, {}, b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'),
        (400, {}, b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'),
        (200, {}, b'{"SecretString": "ok"}'),
    ]
    with mock.patch("reference.box.aws_lite.request", side_effect=answers) as sent:
        assert get_secret_string(URL, "us-east-1", "a", "b", "s") == "ok"
    assert sent.call_count == 3


def test_registry_error_carries_the_status(fake_registry: Any) -> None:
    registry = Registry("http://127.0.0.1:9", "token")  # discard port: nothing listens
    with pytest.raises(RegistryError) as caught:
        registry.heartbeat("ws", "i-1")
    assert caught.value.status is None
    ok = Registry(fake_registry.url, "token").call("POST", "/registry/heartbeat", {"x": 1})
    assert ok == {"status": "ok"}
