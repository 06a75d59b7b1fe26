"""boto3 clients for one target: same code for moto (endpoint override) and real AWS.

Retries use botocore's `standard` mode (throttling and transient errors, with backoff) — this is
what keeps `aws-throttle` benign. Timeouts are short enough that a hung endpoint surfaces fast.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from e2e.harness.settings import Target


@dataclass
class AwsClients:
    ec2: Any
    ssm: Any
    secretsmanager: Any


_SESSIONS: dict[str, boto3.session.Session] = {}
_LOCK = threading.Lock()  # sessions are not thread-safe; stacks are connected from a pool thread


def _session(region: str) -> boto3.session.Session:
    """One boto3 session per region for the whole process: its loader caches the service
    models (EC2's is megabytes of JSON), so a new stack's clients cost ~0.15 s CPU, not 0.35."""
    if region not in _SESSIONS:
        _SESSIONS[region] = boto3.session.Session(region_name=region)
    return _SESSIONS[region]


def make_clients(target: Target, *, timeout_s: float = 10.0) -> AwsClients:
    config = Config(
        region_name=target.region,
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"mode": "standard", "max_attempts": 8},
    )
    credentials: dict[str, Any] = {}
    if target.aws_access_key_id and target.aws_secret_access_key:
        credentials = {
            "aws_access_key_id": target.aws_access_key_id,
            "aws_secret_access_key": target.aws_secret_access_key,
        }
    with _LOCK:
        session = _session(target.region)

    def client(service: str) -> Any:
        with _LOCK:
            return session.client(
                service, endpoint_url=target.aws_endpoint_url, config=config, **credentials
            )

    return AwsClients(ec2=client("ec2"), ssm=client("ssm"), secretsmanager=client("secretsmanager"))
