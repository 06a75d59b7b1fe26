"""Typed models of every product answer the harness reads, from the product's API description
(docs/design.md, "The product's API"). An answer that does not fit is API drift: the harness
fails at once, naming the call and what is missing, instead of timing out on a field that
never comes. Unknown extra fields are allowed (the product adds fields freely).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError


class ApiDrift(AssertionError):
    """The product answered something the harness's model of it does not fit."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class WorkspaceRow(_Answer):
    """`GET /workspaces/:id` (and the items of `GET /workspaces`)."""

    id: str
    name: str
    status: str
    runtime: str | None = None
    tier: int | None = None
    url: str | None = None
    parent_id: str | None = None
    agent_card: dict[str, Any] | None = None


class Created(_Answer):
    """`POST /workspaces` → 201."""

    id: str
    status: str
    auth_token: str | None = None


class Restarted(_Answer):
    """`POST /workspaces/:id/restart` → 200."""

    status: str


class PluginInstalled(_Answer):
    """`POST /workspaces/:id/plugins` → 200."""

    status: str
    plugin: str
    source: str


class Removed(_Answer):
    """`DELETE /workspaces/:id` → 200."""

    status: str
    cascade_deleted: int = 0


class Event(_Answer):
    """An item of `GET /events/:workspaceId` (newest first, at most 100)."""

    id: str
    event_type: str
    workspace_id: str
    payload: dict[str, Any] | None = None
    created_at: datetime


class TemplateImported(_Answer):
    """`POST /templates/import` → 201."""

    status: str
    id: str
    name: str


class TemplateSummary(_Answer):
    """An item of `GET /templates`."""

    id: str
    name: str
    runtime: str | None = None


class FileEntry(_Answer):
    """An item of `GET /workspaces/:id/files` (path relative to root + path)."""

    path: str
    size: int
    dir: bool


class FileContent(_Answer):
    """`GET /workspaces/:id/files/<path>`: text content, size in bytes before encoding."""

    path: str
    content: str
    size: int


class BuildInfo(_Answer):
    git_sha: str


class ModelAnswer(_Answer):
    model: str
    source: str


M = TypeVar("M", bound=BaseModel)


def _describe(error: ValidationError, data: Any) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    keys = sorted(data) if isinstance(data, dict) else type(data).__name__
    if first.get("type") == "missing":
        return f'lacks "{where}" (keys: {keys})'
    return f"{where or 'answer'}: {first.get('msg')} (keys: {keys})"


def parse(model: type[M], data: Any, call: str) -> M:
    """`data` as `model`, or ApiDrift naming the call (e.g. `POST /workspaces`)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiDrift(f"API drift: {call} answer {_describe(exc, data)}") from None


def parse_list(model: type[M], data: Any, call: str) -> list[M]:
    """A JSON array of `model`; the first item that does not fit is named."""
    if not isinstance(data, list):
        raise ApiDrift(f"API drift: {call} answer is not an array ({type(data).__name__})")
    adapter: TypeAdapter[M] = TypeAdapter(model)
    items = []
    for item in data:
        try:
            items.append(adapter.validate_python(item))
        except ValidationError as exc:
            raise ApiDrift(f"API drift: {call} item {_describe(exc, item)}") from None
    return items
