"""Per-route authentication, as middleware/wsauth_middleware.go answers it.

AdminAuth: the tenant's admin token. WorkspaceAuth (restart, plugins, files): the admin token
or that workspace's own token. `GET /workspaces/:id` needs neither (the tenant guard still
applies). Routes declare theirs as a FastAPI dependency.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Request

from reference.common.web import bearer_token, error
from reference.config import StackConfig
from reference.platform.store import Store


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def admin_auth(config: StackConfig) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        token = bearer_token(request)
        if token is None:
            raise error(401, "admin auth required")
        if not _same(token, config.admin_token):
            raise error(401, "invalid admin auth token")

    return check


def workspace_auth(config: StackConfig, store: Store) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        token = bearer_token(request)
        if token is None:
            raise error(401, "missing workspace auth token")
        if _same(token, config.admin_token):
            return
        ws = store.workspace(request.path_params.get("workspace_id", ""))
        if ws is None or not _same(token, ws.token):
            raise error(401, "invalid workspace auth token")

    return check
