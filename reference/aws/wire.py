"""The JSON wire conventions of the AWS targets the reference answers itself."""

from __future__ import annotations

from typing import Any

from reference.aws.ssm_state import SsmError

Answer = tuple[int, dict[str, Any]]


def error(code: str, message: str) -> Answer:
    """A modelled error as AWS sends it: HTTP 400 `{"__type", "message"}`."""
    return 400, {"__type": code, "message": message}


def offset(token: Any) -> int:
    """A NextToken (our tokens are offsets); anything else is InvalidNextToken."""
    if token in (None, ""):
        return 0
    try:
        value = int(token)
    except (TypeError, ValueError):
        raise SsmError("InvalidNextToken", f"NextToken {token!r} is not valid") from None
    if value < 0:
        raise SsmError("InvalidNextToken", f"NextToken {token!r} is not valid")
    return value
