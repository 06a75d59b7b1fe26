"""The control plane's workspace API, mounted under `/cp` beside the platform.

`POST /cp/workspaces/provision` takes the product's request (cp_provisioner.go
cpProvisionRequest: config_files as base64 of the raw bytes) and answers 201
`{instance_id, private_ip, state, error}`; `DELETE /cp/workspaces/<id>?instance_id=&prune=`
stops a box (prune: the workspace's data volume and config secret go too). Both take the
shared secret as a Bearer token. A refused request creates nothing.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from reference.common.aws_clients import AwsClients
from reference.common.web import bearer_token, error, install_error_handlers
from reference.config import StackConfig
from reference.controlplane.admin import Orgs, admin_router
from reference.controlplane.backends import ProvisionRequest, make_backend
from reference.controlplane.staging import decode_files

log = logging.getLogger(__name__)

WORKSPACE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


REQUEST_FIELDS = {
    "workspace_id", "org_id", "runtime", "tier", "platform_url", "data_persistence", "env"
}  # fmt: skip


class ProvisionBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    org_id: str = ""
    workspace_id: str = Field(pattern=WORKSPACE_ID_PATTERN)
    runtime: str = "claude-code"
    tier: int = 1
    data_persistence: str = ""
    platform_url: str
    env: dict[str, str] = Field(default_factory=dict)
    config_files: dict[str, str] | None = None


def build_cp_app(config: StackConfig, orgs: Orgs | None = None) -> FastAPI:
    """The CP; `orgs` (the stack's tenants) adds the org admin API and names each box for its
    tenant."""
    slug_of = getattr(orgs, "slug_of", None)
    backend = make_backend(config, AwsClients(config), slug_of)
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
    def provision(body: ProvisionBody) -> dict[str, Any]:
        files = decode_files(body.config_files) if body.config_files is not None else None
        fields = body.model_dump(include=REQUEST_FIELDS)
        launched = backend.provision(ProvisionRequest(**fields, files=files))
        return {
            "instance_id": launched.instance_id,
            "private_ip": launched.private_ip,
            "state": launched.state,
            "error": "",
        }

    @app.delete("/workspaces/{workspace_id}", dependencies=guarded)
    def stop(
        workspace_id: str,
        instance_id: str = Query(default=""),
        prune: bool = Query(default=False),
    ) -> dict[str, Any]:
        return {"status": "stopped", **backend.stop(workspace_id, instance_id, prune)}

    if orgs is not None:
        app.include_router(admin_router(config.cp_admin_token, orgs))
    app.state.backend = backend
    return app
