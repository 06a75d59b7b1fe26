"""boto3 clients for the CP, pointed at `config.aws_endpoint_url` (moto here, AWS on staging)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from reference.config import StackConfig

# Standard retry mode retries throttling and 5xx with backoff (the aws-throttle fault).
_BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=64,
)


class AwsClients:
    """Lazily built, shared clients (botocore clients are thread-safe; building one is not)."""

    def __init__(self, config: StackConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                cfg = self._config
                session = boto3.session.Session()
                client = session.client(
                    service,
                    endpoint_url=cfg.aws_endpoint_url or None,
                    region_name=cfg.region,
                    aws_access_key_id=cfg.aws_access_key_id,
                    aws_secret_access_key=cfg.aws_secret_access_key,
                    config=_BOTO_CONFIG,
                )
                self._clients[service] = client
            return client

    @property
    def ec2(self) -> Any:
        return self._client("ec2")

    @property
    def secrets(self) -> Any:
        return self._client("secretsmanager")
