"""boto3 clients for one target: same code for moto (endpoint override) and real AWS.

Retries use botocore's `standard` mode (throttling and transient errors, with backoff) — this is
what keeps `aws-throttle` benign. Timeouts are short enough that a hung endpoint surfaces fast.
"""

from __future__ import annotations

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


def make_clients(target: Target, *, timeout_s: float = 10.0) -> AwsClients:
    config = Config(
        region_name=target.region,
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"mode": "standard", "max_attempts": 8},
    )
    session_kwargs: dict[str, Any] = {"region_name": target.region}
    if target.aws_access_key_id and target.aws_secret_access_key:
        session_kwargs["aws_access_key_id"] = target.aws_access_key_id
        session_kwargs["aws_secret_access_key"] = target.aws_secret_access_key
    session = boto3.session.Session(**session_kwargs)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=target.aws_endpoint_url, config=config)

    return AwsClients(ec2=client("ec2"), ssm=client("ssm"), secretsmanager=client("secretsmanager"))
