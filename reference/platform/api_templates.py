"""`/templates`: import (validated, atomic) and list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from reference.config import StackConfig
from reference.controlplane.http import error
from reference.platform.catalog import TemplateCatalog
from reference.platform.store import Store
from reference.platform.template_import import (
    normalise_name,
    runtime_of,
    validate_files,
    write_template,
)


class TemplateImport(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    files: dict[str, str]


def templates_router(config: StackConfig, store: Store, catalog: TemplateCatalog) -> APIRouter:
    router = APIRouter(tags=["templates"])

    @router.post("/templates/import", status_code=201)
    def import_template(body: TemplateImport) -> dict[str, Any]:
        name = normalise_name(body.name)
        files = validate_files(name, body.files)
        runtime = runtime_of(name, files)
        if catalog.exists(name):
            raise error(409, f"template {name!r} already exists")
        try:
            write_template(config.imported_templates_dir, name, files)
        except OSError as exc:
            if (config.imported_templates_dir / name).exists():
                raise error(409, f"template {name!r} already exists") from exc
            raise
        row = store.add_template(name, runtime, len(files))
        return {"status": "imported", "id": row["id"], "name": name, "files": len(files)}

    @router.get("/templates")
    def list_templates() -> list[dict[str, Any]]:
        return catalog.listing()

    return router
