"""boto3 clients for the platform and the CP, pointed at `config.aws_endpoint_url` (moto here)."""

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
    max_pool_connections=256,
)


# One session for the process: building a client loads service models, which a session caches
# (seconds saved per app build). Sessions are not thread-safe, hence the lock.
_SESSION_LOCK = threading.Lock()
_SESSION: boto3.session.Session | None = None
_CLIENTS: dict[tuple[str, ...], Any] = {}


def _session() -> boto3.session.Session:
    """The process-wide session; call with _SESSION_LOCK held."""
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.session.Session()
    return _SESSION


def make_client(service: str, config: StackConfig) -> Any:
    """A client per (service, endpoint, region, key); botocore clients are thread-safe."""
    key = (service, config.aws_endpoint_url, config.region, config.aws_access_key_id)
    with _SESSION_LOCK:
        if key in _CLIENTS:
            return _CLIENTS[key]
        client = _CLIENTS[key] = _session().client(
            service,
            endpoint_url=config.aws_endpoint_url or None,
            region_name=config.region,
            aws_access_key_id=config.aws_access_key_id,
            aws_secret_access_key=config.aws_secret_access_key,
            config=_BOTO_CONFIG,
        )
        return client


def warm_models(services: tuple[str, ...], region: str) -> None:
    """Load these services' models into the process-wide session now (the fork server does
    this once, so every stack it forks builds its clients from cached models)."""
    with _SESSION_LOCK:
        session = _session()
        for service in services:  # a client never used: building it is what loads the model
            session.client(
                service,
                endpoint_url="http://127.0.0.1:9",
                region_name=region,
                aws_access_key_id="warm",
                aws_secret_access_key="warm",
                config=_BOTO_CONFIG,
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
                client = make_client(service, self._config)
                self._clients[service] = client
            return client

    @property
    def ec2(self) -> Any:
        return self._client("ec2")

    @property
    def secrets(self) -> Any:
        return self._client("secretsmanager")
