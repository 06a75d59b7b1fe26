"""boto3 clients for one target: same code for moto (endpoint override) and real AWS.

Retries use botocore's `standard` mode (throttling and transient errors, with backoff) — this is
what keeps `aws-throttle` benign. Except for SSM reads inside poll loops (`ssm_poll`): there the
loop is the retry, and botocore's backoff (up to 1 s on the first throttle) would only stack on
top of the poll interval, so a throttled poll counts as "not yet". And except for SendCommand
(`ssm_send`): it has no idempotency token, so a retry after the request may have been queued
would run the command twice; SsmHost retries it itself, only on throttling and on connections
that never got through. Every client counts its retries (retries.py). Timeouts are short enough
that a hung endpoint surfaces fast.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from e2e.harness.retries import count_botocore_retries
from e2e.harness.settings import Target

THROTTLING_ERRORS = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)


@dataclass
class AwsClients:
    ec2: Any
    ssm: Any
    secretsmanager: Any
    ssm_poll: Any = None  # no retries: for reads whose caller polls anyway
    ssm_send: Any = None  # no retries: SendCommand is retried by SsmHost, only when safe

    def __post_init__(self) -> None:
        if self.ssm_poll is None:
            self.ssm_poll = self.ssm
        if self.ssm_send is None:
            self.ssm_send = self.ssm


def is_throttling(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code", "") in THROTTLING_ERRORS


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
        # boto3 keeps 10 connections per client: the waits of many workspaces share a client,
        # and every call past ten opened and dropped a connection of its own
        max_pool_connections=128,
    )
    poll_config = config.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
    credentials: dict[str, Any] = {}
    if target.aws_access_key_id and target.aws_secret_access_key:
        credentials = {
            "aws_access_key_id": target.aws_access_key_id,
            "aws_secret_access_key": target.aws_secret_access_key,
        }
    with _LOCK:
        session = _session(target.region)

    def client(service: str, config: Config = config) -> Any:
        with _LOCK:
            made = session.client(
                service, endpoint_url=target.aws_endpoint_url, config=config, **credentials
            )
        return count_botocore_retries(made)

    return AwsClients(
        ec2=client("ec2"),
        ssm=client("ssm"),
        secretsmanager=client("secretsmanager"),
        ssm_poll=client("ssm", poll_config),
        ssm_send=client("ssm", poll_config),
    )
