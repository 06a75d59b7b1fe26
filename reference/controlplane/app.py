"""The control plane's HTTP API (DESIGN §3), mounted under `/cp` of the platform's server.

It is a separate FastAPI app reached over a real HTTP hop, so a staging split (platform and CP
on different hosts) changes only a URL.
"""

from __future__ import annotations

import hmac
import logging

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from reference import faults
from reference.config import StackConfig
from reference.controlplane.aws import AwsClients
from reference.controlplane.backends import ProvisionRequest, make_backend
from reference.controlplane.http import bearer_token, error, install_error_handlers
from reference.controlplane.templates import (
    collect_cp_config_files,
    resolve_workspace_template_path,
    validate_config_files,
)

log = logging.getLogger(__name__)

WORKSPACE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class ProvisionBody(BaseModel):
    org_id: str = ""
    workspace_id: str = Field(pattern=WORKSPACE_ID_PATTERN)
    runtime: str = "claude-code"
    tier: int = 1
    platform_url: str
    env: dict[str, str] = Field(default_factory=dict)
    config_files: dict[str, str] | None = None
    # reference: the template path the platform resolved; "" or absent = no template
    template: str | None = None
    generation: int = Field(default=1, ge=1)
    workspace_token: str = Field(min_length=1)


def resolve_files(config: StackConfig, body: ProvisionBody) -> dict[str, str] | None:
    """The set to deliver: given files (guarded), or the template's collected files, or None."""
    allowlist = not faults.is_on(config.faults, faults.NO_ALLOWLIST)
    include_prompts = not faults.is_on(config.faults, faults.DROP_PROMPTS)
    template = body.template or ""
    if body.config_files is not None:
        files = dict(body.config_files)
        if not include_prompts:
            files = {p: t for p, t in files.items() if not p.startswith("prompts/")}
        validate_config_files(template or "<inline>", files, allowlist=allowlist)
        return files
    if not template:
        return None
    path = resolve_workspace_template_path(template, config.template_roots)
    collected = collect_cp_config_files(
        path, template, allowlist=allowlist, include_prompts=include_prompts
    )
    return collected.files


def build_cp_app(config: StackConfig) -> FastAPI:
    aws = AwsClients(config)
    backend = make_backend(config, aws)
    app = FastAPI(title="reference control plane", version="1")
    install_error_handlers(app)

    @app.exception_handler(ClientError)
    async def aws_error(_: Request, exc: ClientError) -> JSONResponse:
        return JSONResponse({"error": f"AWS call failed: {exc}"}, status_code=502)

    @app.exception_handler(BotoCoreError)
    async def aws_transport_error(_: Request, exc: BotoCoreError) -> JSONResponse:
        return JSONResponse({"error": f"AWS unreachable: {exc}"}, status_code=502)

    def require_cp_secret(request: Request) -> None:
        token = bearer_token(request)
        if token is None or not hmac.compare_digest(token, config.cp_secret):
            raise error(401, "control plane: missing or wrong shared secret")

    guarded = [Depends(require_cp_secret)]

    @app.post("/workspaces/provision", status_code=201, dependencies=guarded)
    def provision(body: ProvisionBody) -> dict[str, object]:
        files = resolve_files(config, body)  # refusals raise before any AWS call
        launched = backend.provision(
            ProvisionRequest(
                workspace_id=body.workspace_id,
                org_id=body.org_id,
                runtime=body.runtime,
                tier=body.tier,
                platform_url=body.platform_url,
                workspace_token=body.workspace_token,
                generation=body.generation,
                env=body.env,
            ),
            files,
        )
        return {
            "instance_id": launched.instance_id,
            "private_ip": launched.private_ip,
            "state": launched.state,
            "volume_id": launched.volume_id,
            "delivered": sorted(files) if files is not None else None,
        }

    @app.delete("/workspaces/{workspace_id}", dependencies=guarded)
    def stop(
        workspace_id: str,
        instance_id: str | None = Query(default=None),
        purge: bool = Query(default=False),
    ) -> dict[str, object]:
        if purge:
            removed = backend.purge(workspace_id)
            return {"status": "removed", **removed}
        if not instance_id:
            raise error(400, "instance_id is required unless purge=true")
        return {"status": "stopped", "instances": backend.stop(workspace_id, instance_id)}

    @app.get("/workspaces/{workspace_id}/status", dependencies=guarded)
    def status(workspace_id: str, instance_id: str = Query(min_length=1)) -> dict[str, str]:
        state = backend.status(workspace_id, instance_id)
        if state is None:
            raise error(404, f"instance {instance_id} of workspace {workspace_id} not found")
        return {"state": state}

    return app
