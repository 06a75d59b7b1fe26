"""retries.py: every retry is counted and charged to the workspace it was for — platform
retries by the workspace id in the path, AWS retries (botocore's own RetryAttempts) by the
instance ids the call named or by the EC2 tag filter naming the workspace's id prefix.

The end-to-end case runs a real boto3 EC2 client with botocore's real `standard` retries
against a loopback HTTP server that throttles twice, so RetryAttempts is botocore's number."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from botocore.config import Config
from support import aws
from support.loopback import loopback_server

from e2e.harness import retries
from e2e.harness.identity import filters_for
from e2e.harness.retries import UNATTRIBUTED, RetryLedger, count_botocore_retries
from e2e.harness.settings import DEFAULT_INSTANCE_FILTERS

WS = "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d"
OTHER = "0c9d8e7f-1a2b-4c3d-8e9f-0a1b2c3d4e5f"


def test_platform_retries_go_to_the_workspace_in_the_path() -> None:
    ledger = RetryLedger()
    ledger.record_http(f"/workspaces/{WS}/restart", "429")
    ledger.record_http(f"/events/{WS}", "503")
    ledger.record_http(f"/workspaces/{OTHER}", "ReadError")
    ledger.record_http("/templates", "503")
    assert ledger.of(WS) == (2, 0) and ledger.of(OTHER) == (1, 0)
    assert ledger.of(UNATTRIBUTED) == (1, 0) and ledger.totals() == (4, 0)
    assert ledger.reasons == {"http 429": 1, "http 503": 2, "http ReadError": 1}


def test_aws_retries_go_to_the_workspace_whose_instance_the_call_named() -> None:
    ledger = RetryLedger()
    ledger.bind("i-0aaa", WS)
    ledger.bind("i-0bbb", OTHER)
    ledger.record_aws("GetCommandInvocation", {"CommandId": "c", "InstanceId": "i-0aaa"}, 2)
    ledger.record_aws("SendCommand", {"InstanceIds": ["i-0bbb"]}, 1)
    ledger.record_aws("TerminateInstances", {"InstanceIds": ["i-0new", "i-0aaa"]}, 1)
    ledger.record_aws("DescribeInstances", {"InstanceIds": ["i-0unknown"]}, 4)
    ledger.record_aws("DescribeInstances", {"InstanceIds": ["i-0aaa"]}, 0)  # no retry: nothing
    assert ledger.of(WS) == (0, 3) and ledger.of(OTHER) == (0, 1)
    assert ledger.of(UNATTRIBUTED) == (0, 4)
    assert (
        ledger.reasons["aws GetCommandInvocation"] == 2
        and "aws DescribeInstances" in ledger.reasons
    )


def test_aws_retries_of_a_tag_lookup_go_to_the_workspace_whose_id_prefix_it_names() -> None:
    ledger = RetryLedger()
    ledger.workspace(WS)
    ledger.workspace(OTHER)
    ledger.record_aws(
        "DescribeInstances", {"Filters": filters_for(DEFAULT_INSTANCE_FILTERS, WS)}, 3
    )
    ledger.record_aws(
        "DescribeInstances", {"Filters": filters_for("tag:WorkspaceId={id}", OTHER)}, 1
    )
    ledger.record_aws(
        "DescribeInstances", {"Filters": [{"Name": "tag:Role", "Values": ["workspace"]}]}, 2
    )
    assert ledger.of(WS) == (0, 3) and ledger.of(OTHER) == (0, 1)
    assert ledger.of(UNATTRIBUTED) == (0, 2)


def test_ssm_ping_retries_go_to_the_workspace_whose_instance_the_filter_names() -> None:
    ledger = RetryLedger()
    ledger.bind("i-0aaa", WS)
    params = {"Filters": [{"Key": "InstanceIds", "Values": ["i-0aaa"]}]}
    ledger.record_aws("DescribeInstanceInformation", params, 2)
    assert ledger.of(WS) == (0, 2)


# -- botocore's own count, end to end ----------------------------------------------------------

THROTTLED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
    b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error>"
    b"</Errors><RequestID>r-1</RequestID></Response>"
)
EMPTY = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
    b"<requestId>r-2</requestId><reservationSet/></DescribeInstancesResponse>"
)


class ThrottlingEc2:
    """Answers each DescribeInstances with `throttles` throttling errors, then an empty set."""

    def __init__(self, throttles: int) -> None:
        self.throttles = throttles
        self.requests = 0
        self.url = ""


@pytest.fixture
def throttling_ec2() -> Iterator[ThrottlingEc2]:
    state = ThrottlingEc2(throttles=2)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.requests += 1
            throttled = (state.requests - 1) % (state.throttles + 1) < state.throttles
            body = THROTTLED if throttled else EMPTY
            self.send_response(503 if throttled else 200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with loopback_server(Handler, poll_s=0.01) as url:
        state.url = url
        yield state


def test_botocore_retry_attempts_are_counted_for_the_workspace_the_call_was_about(
    throttling_ec2: ThrottlingEc2, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = RetryLedger()
    monkeypatch.setattr(retries, "LEDGER", ledger)
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda s: None)  # backoff, not waited
    ec2 = count_botocore_retries(
        aws.client(
            "ec2",
            endpoint_url=throttling_ec2.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 8}),
        )
    )
    ledger.workspace(WS)
    ledger.bind("i-0aaa", OTHER)
    ec2.describe_instances(Filters=filters_for(DEFAULT_INSTANCE_FILTERS, WS))
    ec2.describe_instances(InstanceIds=["i-0aaa"])
    ec2.describe_instances()
    assert throttling_ec2.requests == 9
    assert ledger.of(WS) == (0, 2) and ledger.of(OTHER) == (0, 2)
    assert ledger.of(UNATTRIBUTED) == (0, 2)
    assert ledger.reasons["aws DescribeInstances"] == 6
