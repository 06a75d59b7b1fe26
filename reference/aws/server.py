"""The stack's single AWS endpoint: moto's WSGI app behind a middleware that owns SSM Run Command.

The middleware answers the SSM targets moto cannot (SendCommand really runs, plus
GetCommandInvocation, ListCommandInvocations, DescribeInstanceInformation), tells the fleet
when an EC2 call may have changed instances or volumes, and injects benign faults.
"""

from __future__ import annotations

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
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import EnvironBuilder

from reference.aws.faults import Throttle
from reference.aws.ssm_wire import SsmWire

log = logging.getLogger(__name__)

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


class QuietHandler(MotoRequestHandler):
    """moto's handler without a log line per request."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


SHUTDOWN_POLL_S = 0.05


class AwsEndpoint:
    """Serves the middleware on a free loopback port from a background thread."""

    def __init__(self, app: AwsMiddleware, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=QuietHandler
        )
        # serve_forever notices shutdown() only between polls: 0.5 s by default, paid by
        # every stack stop
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="aws-endpoint",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever on a server never started
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()


def build_moto_app() -> DomainDispatcherApplication:
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
