"""One boto3 session per test process: a session's loader caches the service models it has
parsed (EC2's is megabytes of JSON, ~2 s of CPU), and moto's `mock_aws` swaps out
boto3.DEFAULT_SESSION, so clients made with `boto3.client` would parse it again every test.
Sessions made after moto is imported carry its stubber, so clients from this one are mocked
inside `mock_aws()` (credentials are resolved per client, inside the mock)."""

from __future__ import annotations

import functools
from typing import Any

import boto3
import moto  # noqa: F401  (imported first: its handler must be in the session)


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def client(service: str, region: str = "us-east-2", **kw: Any) -> Any:
    return _session().client(service, region_name=region, **kw)
