"""The stack's single AWS endpoint: moto's WSGI app behind a middleware that owns SSM Run Command.

The middleware answers the SSM targets moto cannot (SendCommand really runs, plus
GetCommandInvocation, ListCommandInvocations, DescribeInstanceInformation), tells the fleet
when an EC2 call may have changed instances or volumes, and injects benign faults.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import moto.core.responses as moto_responses
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress import wasyncore
from waitress.server import create_server
from werkzeug.test import EnvironBuilder

from reference.aws import moto_speed
from reference.aws.faults import Throttle
from reference.aws.ssm_wire import SsmWire

log = logging.getLogger(__name__)
# "Task queue depth is N" on every queued request: thousands of lines per 100-workspace burst,
# which is load the benchmarks measure, not a fault
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

# moto lists a response class's methods with `inspect.getmembers` on every request (~5% of the
# stack's CPU under the e2e suite); the classes never change, so remember the answer.
moto_responses.method_names_from_class = functools.cache(moto_responses.method_names_from_class)

EC2_MUTATIONS = frozenset(
    {
        "RunInstances",
        "TerminateInstances",
        "StopInstances",
        "StartInstances",
        "RebootInstances",
        "AttachVolume",
        "DetachVolume",
        "DeleteVolume",
        "CreateTags",
        "DeleteTags",
    }
)
SECRETS_READS = frozenset({"GetSecretValue", "DescribeSecret", "ListSecrets"})
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
StartResponse = Callable[..., Any]


def signing_service(environ: dict[str, Any]) -> str:
    """The service named in the SigV4 credential scope (`.../region/service/aws4_request`)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3].lower()
    except IndexError:
        return ""


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back so moto can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _respond(
    start_response: StartResponse, status: int, body: bytes, content_type: str
) -> Iterable[bytes]:
    reason = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [body]


class AwsMiddleware:
    """WSGI app: SSM Run Command here, everything else to moto."""

    def __init__(
        self,
        moto_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        ssm: SsmWire,
        throttle: Throttle,
        on_ec2_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.moto_app = moto_app
        self.ssm = ssm
        self.throttle = throttle
        self.on_ec2_change = on_ec2_change

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if self.ssm.handles(target):
            body = read_body(environ)
            operation = target.split(".", 1)[1]
            if operation in SsmWire.READS and self.throttle.should_throttle(target.encode() + body):
                return self._json_throttle(start_response)
            status, payload = self.ssm.answer(target, body)
            return _respond(start_response, status, json.dumps(payload).encode(), JSON_CONTENT_TYPE)
        service = signing_service(environ)
        if service == "ec2":
            body = read_body(environ)
            action = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [""])[0]
            if action.startswith("Describe") and self.throttle.should_throttle(body):
                return _respond(
                    start_response,
                    503,
                    b"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error>"
                    b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
                    b"</Message></Error></Errors><RequestID>throttled</RequestID></Response>",
                    "text/xml",
                )
            result = self.moto_app(environ, start_response)
            if action in EC2_MUTATIONS:
                log.debug("EC2 %s: poking the fleet", action)
                self.on_ec2_change()
            return result
        if service == "secretsmanager" and target.split(".")[-1] in SECRETS_READS:
            body = read_body(environ)
            if self.throttle.should_throttle(target.encode() + body):
                return self._json_throttle(start_response)
        return self.moto_app(environ, start_response)

    @staticmethod
    def _json_throttle(start_response: StartResponse) -> Iterable[bytes]:
        return _respond(
            start_response,
            400,
            b'{"__type": "ThrottlingException", "message": "Rate exceeded"}',
            JSON_CONTENT_TYPE,
        )


SHUTDOWN_POLL_S = 0.05
ENDPOINT_THREADS = 8  # requests are short and CPU-bound (one GIL): a few threads serve 50 boxes
# Every box keeps a connection open (its SSM agent and its boot), and so do the control plane's
# and the harness's client pools: waitress's default limit of 100 stopped accepting at 50
# workspaces and stalled every caller until idle connections timed out.
ENDPOINT_CONNECTIONS = 4096


class AwsEndpoint:
    """Serves the middleware on a free loopback port from a background thread.

    waitress, not werkzeug's development server: that one closes every connection, so each AWS
    call of the harness, the control plane and the boxes paid a new TCP connection and a new
    thread (0.8-2 ms of CPU across client and server, measured per call). waitress keeps
    HTTP/1.1 connections alive and answers from a fixed pool of threads.
    """

    def __init__(self, app: AwsMiddleware, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._channels: dict[int, Any] = {}  # waitress's socket map: the server and its clients
        self._server = create_server(
            app,
            map=self._channels,
            host=host,
            port=port,
            threads=ENDPOINT_THREADS,
            connection_limit=ENDPOINT_CONNECTIONS,
            ident="reference-aws",
            clear_untrusted_proxy_headers=False,
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="aws-endpoint", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._server.effective_host}:{self._server.effective_port}"

    def _serve(self) -> None:
        # one poll at a time, so a stop is noticed within SHUTDOWN_POLL_S (waitress's own
        # run() loops until every connection is gone, and kept-alive ones idle for minutes)
        while not self._stopping.is_set() and self._channels:
            wasyncore.loop(timeout=SHUTDOWN_POLL_S, map=self._channels, use_poll=True, count=1)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._server.task_dispatcher.shutdown()  # lets running requests finish (bounded)
        for channel in list(self._channels.values()):  # listener, trigger, kept-alive clients
            with contextlib.suppress(OSError):
                channel.close()


def build_moto_app() -> DomainDispatcherApplication:
    moto_speed.install()
    return DomainDispatcherApplication(create_backend_app)


def warm(app: Callable[..., Iterable[bytes]], region: str) -> None:
    """Make moto import and build its EC2, Secrets Manager and SSM apps now, not on first use."""
    calls = [
        (
            "ec2",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"Action=DescribeInstances&Version=2016-11-15",
        ),
        (
            "secretsmanager",
            {"X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": JSON_CONTENT_TYPE},
            b"{}",
        ),
        (
            "ssm",
            {"X-Amz-Target": "AmazonSSM.DescribeParameters", "Content-Type": JSON_CONTENT_TYPE},
            b"{}",
        ),
    ]
    for service, headers, body in calls:
        signed = {
            **headers,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/{service}/aws4_request, "
                "SignedHeaders=host, Signature=0"
            ),
        }
        environ = EnvironBuilder(
            method="POST",
            path="/",
            headers=list(signed.items()),
            data=body,
            base_url="http://127.0.0.1",
        ).get_environ()
        for _ in app(environ, lambda *a, **k: None):
            pass
