"""`/templates`: import (written beside the built-in templates) and list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from reference.config import StackConfig
from reference.platform.auth import admin_auth
from reference.platform.catalog import ImportRefused, import_template, listing


class TemplateImport(BaseModel):
    name: str
    files: dict[str, str]


def templates_router(config: StackConfig) -> APIRouter:
    router = APIRouter(tags=["templates"])
    admin = [Depends(admin_auth(config))]

    @router.post("/templates/import", status_code=201, dependencies=admin, response_model=None)
    def import_one(body: TemplateImport) -> dict[str, Any] | JSONResponse:
        try:
            return import_template(config, body.name, body.files)
        except ImportRefused as exc:
            return JSONResponse(exc.body, status_code=exc.status)

    @router.get("/templates", dependencies=admin)
    def list_templates() -> list[dict[str, Any]]:
        return listing(config)

    return router
