"""Memoized region lists: moto asks boto3 for them every time it builds a backend.

moto calls `boto3.Session().get_available_regions(service, partition)` at import (EC2's zones:
three lookups) and for every service backend it creates — in every forked stack, since each
stack starts from an empty account. Each lookup on a fresh session parses botocore's
endpoints.json and the service's model (EC2's is megabytes): ~1.4 s of the fork server's
start-up and ~0.03 s of every stack's first requests. The answer only changes with botocore's
data files, so one lookup per (service, partition) on one shared session serves them all.
"""

from __future__ import annotations

import functools
import threading

import boto3.session

_original = boto3.session.Session.get_available_regions
_shared: list[boto3.session.Session] = []
_lock = threading.Lock()


@functools.cache
def _regions(service_name: str, partition_name: str, allow_non_regional: bool) -> tuple[str, ...]:
    with _lock:
        if not _shared:
            _shared.append(boto3.session.Session())
        return tuple(_original(_shared[0], service_name, partition_name, allow_non_regional))


def _get_available_regions(
    self: boto3.session.Session,
    service_name: str,
    partition_name: str = "aws",
    allow_non_regional: bool = False,
) -> list[str]:
    return list(_regions(service_name, partition_name, allow_non_regional))


def memoize_region_lookups() -> None:
    """Install the memo on boto3's Session (idempotent); must run before moto's EC2 models are
    imported, which look their zones up at import time."""
    boto3.session.Session.get_available_regions = _get_available_regions
