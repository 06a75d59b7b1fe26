"""JSON error answers with honest codes, shared by the platform and the control plane.

Bodies follow the product: `{"error": "<text>", ...fields}` (gin's `c.JSON(status, gin.H{...})`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from reference.common.errors import ProvisionRefused


class ApiError(Exception):
    """An answer other than success: status and the exact JSON body."""

    def __init__(self, status: int, body: dict[str, Any] | None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def error(status: int, message: str, **fields: Any) -> ApiError:
    """An error whose body is `{"error": message, **fields}`."""
    return ApiError(status, {"error": message, **fields})


def describe_validation(errors: list[Any]) -> str:
    """Each bad field named by its location (kept as `detail` beside the product's message)."""
    parts = []
    for err in errors:
        if err.get("type") == "json_invalid":
            return f"malformed JSON body: {err.get('ctx', {}).get('error', '')}".strip()
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI, invalid_body: str = "invalid request body") -> None:
    """`invalid_body` is the product's message for a body it cannot bind (400)."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        if exc.body is None:  # gin's c.AbortWithStatus: no body at all
            return Response(status_code=exc.status)
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = describe_validation(list(exc.errors()))
        return JSONResponse({"error": invalid_body, "detail": detail}, status_code=400)

    @app.exception_handler(ProvisionRefused)
    async def refused(_: Request, exc: ProvisionRefused) -> JSONResponse:
        return JSONResponse(exc.as_json(), status_code=exc.status)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
