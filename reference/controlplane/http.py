"""JSON error answers `{"error": ...}` with honest codes, shared by the platform and the CP."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reference.controlplane.errors import ProvisionRefused


def describe_validation(errors: list[Any]) -> tuple[int, str]:
    """400 for an unparseable body, else 422 with each bad field named by its location."""
    parts = []
    status = 422
    for err in errors:
        if err.get("type") == "json_invalid":
            status = 400
            ctx = err.get("ctx", {}).get("error", "")
            return status, f"malformed JSON body: {ctx}".strip()
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return status, "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = describe_validation(list(exc.errors()))
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(ProvisionRefused)
    async def refused(_: Request, exc: ProvisionRefused) -> JSONResponse:
        return JSONResponse(exc.as_json(), status_code=exc.status)


def error(status: int, message: str) -> StarletteHTTPException:
    """An HTTP error whose body is `{"error": message}`."""
    return StarletteHTTPException(status_code=status, detail=message)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
