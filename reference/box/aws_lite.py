"""Secrets Manager GetSecretValue with SigV4 signing, in the stdlib (see http_lite for why).

Retries what botocore would retry (throttling, 5xx, connection errors) so the benign
`aws-throttle` fault stays benign; modelled errors come back as `AwsError(code, message)`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from reference.box.http_lite import HttpError, request

try:
    from _sha256 import sha256  # builtin; hashlib would load OpenSSL into the box's process
except ImportError:  # pragma: no cover
    from hashlib import sha256

RETRYABLE = frozenset(
    {"ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException"}
)


class AwsError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC (RFC 2104) over the builtin sha256."""
    if len(key) > 64:
        key = sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + msg).digest()
    return sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


def sigv4_headers(
    url: str,
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    headers: dict[str, str],
    body: bytes,
    now: float | None = None,
) -> dict[str, str]:
    """`headers` plus X-Amz-Date and a SigV4 Authorization for a POST to `url`."""
    from reference.box.http_lite import split_url

    host, port, path = split_url(url)
    stamp = time.gmtime(now if now is not None else time.time())
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", stamp)
    day = amz_date[:8]
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed["host"] = f"{host}:{port}"
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    canonical = "\n".join(
        [
            "POST",
            path,
            "",
            *(f"{n}:{signed[n]}" for n in names),
            "",
            ";".join(names),
            sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{sha256(canonical.encode()).hexdigest()}"
    key = hmac_sha256(("AWS4" + secret_key).encode(), day.encode())
    for part in (region, service, "aws4_request"):
        key = hmac_sha256(key, part.encode())
    signature = hmac_sha256(key, to_sign.encode()).hex()
    return {
        **headers,
        "X-Amz-Date": amz_date,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        ),
    }


def get_secret_string(
    endpoint_url: str,
    region: str,
    access_key: str,
    secret_key: str,
    secret_id: str,
    attempts: int = 6,
) -> str:
    """SecretString of `secret_id`; raises AwsError for a modelled error after retries."""
    body = json.dumps({"SecretId": secret_id}).encode()
    base = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "secretsmanager.GetSecretValue",
    }
    last: Exception = AwsError("NoAttempt", "no request was made")
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(1.0, 0.05 * 2**attempt))
        headers = sigv4_headers(
            endpoint_url.rstrip("/") + "/",
            region,
            "secretsmanager",
            access_key,
            secret_key,
            base,
            body,
        )
        try:
            status, _, content = request("POST", endpoint_url.rstrip("/") + "/", headers, body)
        except HttpError as exc:
            last = exc
            continue
        try:
            answer: Any = json.loads(content) if content else {}
        except ValueError:
            answer = {}
        if status == 200:
            return str(answer.get("SecretString") or "")
        code = str(answer.get("__type", f"HTTP{status}")).rsplit("#", 1)[-1]
        last = AwsError(code, str(answer.get("message") or answer.get("Message") or content[:200]))
        if status < 500 and code not in RETRYABLE:
            break
    if isinstance(last, AwsError):
        raise last
    raise AwsError("ConnectionError", str(last))
