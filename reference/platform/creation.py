"""`POST /workspaces`: from a request body to the row's fields, or the product's refusal.

Order of the checks and their answers as in handlers/workspace.go: the template path, then
runtime (from the body, else the template's config.yaml), then the model. A template the
tenant does not have is not refused when runtime and model are given: the workspace falls back
to `<runtime>-default`. Names are unique among siblings; a taken one gets " (2)" … " (21)".
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reference.common.web import ApiError, error
from reference.config import StackConfig
from reference.platform.catalog import RUNTIMES
from reference.platform.plugins import declared_sources
from reference.platform.store import Store
from reference.platform.templates import (
    TemplateError,
    read_config,
    resolve_workspace_template_path,
    runtime_and_model,
)

PERSISTENCE = ("", "persist", "ephemeral")
MAX_NAME_SUFFIX = 20
SAAS_TIER = 4


class CreateBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = ""
    role: str = ""
    template: str = ""
    tier: int | None = None
    model: str = ""
    runtime: str = ""
    secrets: dict[str, str] = Field(default_factory=dict)
    compute: dict[str, Any] = Field(default_factory=dict)
    parent_id: str | None = None


def _coded(status: int, message: str, code: str, **fields: Any) -> ApiError:
    return error(status, message, **fields, code=code)


def unique_name(store: Store, name: str, parent_id: str | None) -> str:
    taken = store.names_under(parent_id)
    if name not in taken:
        return name
    for n in range(2, MAX_NAME_SUFFIX + 2):
        candidate = f"{name} ({n})"
        if candidate not in taken:
            return candidate
    raise error(409, "workspace name already in use; please pick a different name")


def default_parent(config: StackConfig, store: Store) -> str | None:
    """The single root workspace, if there is exactly one (no platform agent here)."""
    if config.default_parent != "single-root":
        return None
    roots = [ws for ws in store.workspaces() if ws.parent_id is None]
    return roots[0].id if len(roots) == 1 else None


def plan(config: StackConfig, store: Store, body: CreateBody) -> dict[str, Any]:
    """The fields of the new row (see Store.add_workspace)."""
    if not body.name.strip():
        raise error(400, "invalid workspace fields")
    persistence = body.compute.get("data_persistence", "")
    if persistence not in PERSISTENCE:
        raise error(400, "unsupported compute.data_persistence (want persist|ephemeral)")
    template, runtime, model = body.template, body.runtime, body.model
    resolved = bool(runtime)  # templateRuntimeResolved
    config_yaml = ""
    known = True
    if template:
        try:
            path = resolve_workspace_template_path(template, config.template_roots)
        except TemplateError as exc:
            raise error(400, "invalid template") from exc
        known = path is not None
        config_yaml = read_config(path)
        if not runtime or not model:
            found_runtime, found_model = runtime_and_model(config_yaml)
            resolved = resolved or bool(found_runtime)
            runtime, model = runtime or found_runtime, model or found_model
    if not runtime and (body.runtime or body.template) and not resolved:
        raise _coded(
            422,
            "runtime could not be resolved from the requested template; refusing to silently "
            'provision the default runtime. Pass an explicit "runtime", or use a template '
            "whose config.yaml declares one.",
            "RUNTIME_UNRESOLVED",
            template=body.template,
        )
    runtime = runtime or "claude-code"  # no template, no runtime: the intended default
    if runtime not in RUNTIMES:
        raise _coded(422, "unsupported workspace runtime", "RUNTIME_UNSUPPORTED", runtime=runtime)
    if not model:
        raise _coded(
            422,
            'model is required and has no platform-side default — pass an explicit "model" in '
            'the request body, or use a "template" whose config.yaml declares one.',
            "MODEL_REQUIRED",
            runtime=runtime,
            template=body.template,
        )
    if template and not known:  # the tenant lacks it: `<runtime>-default`, else generated
        fallback = f"{runtime}-default"
        found = resolve_workspace_template_path(fallback, config.template_roots)
        template, config_yaml = (fallback, read_config(found)) if found else ("", "")
    parent_id = body.parent_id or default_parent(config, store)
    if body.parent_id and store.workspace(body.parent_id) is None:
        raise error(400, "invalid workspace fields", detail="parent_id: no such workspace")
    return {
        "name": unique_name(store, body.name, parent_id),
        "parent_id": parent_id,
        "template": template,
        "runtime": runtime,
        "model": model,
        "role": body.role,
        "tier": SAAS_TIER if config.backend == "saas" else (body.tier or 1),
        "compute": body.compute,
        "secrets": body.secrets,
        "declared_plugins": declared_sources(config_yaml),
        "token": "wst-" + secrets.token_hex(20),
    }
