"""Test doubles and helpers for unit and integration tests of the platform and CP.

`PlatformUnderTest` (a platform on a loopback port with a fake fleet over a shared moto
server), `ServedStack` (the real stack as a subprocess), `Eventually` (bounded polling).
"""

from reference.platform.testing.fake_fleet import STUB_CONFIG, FakeBox, FakeFleet, aws_client
from reference.platform.testing.moto_server import shared_moto_url
from reference.platform.testing.platform import (
    MINI_TEMPLATE,
    PlatformUnderTest,
    make_config,
    write_template,
)
from reference.platform.testing.servers import ServedStack, ServerThread, free_port
from reference.platform.testing.waits import Eventually

__all__ = [
    "MINI_TEMPLATE",
    "STUB_CONFIG",
    "Eventually",
    "FakeBox",
    "FakeFleet",
    "PlatformUnderTest",
    "ServedStack",
    "ServerThread",
    "aws_client",
    "free_port",
    "make_config",
    "shared_moto_url",
    "write_template",
]
