"""Property-based tests of the platform API from the OpenAPI description it publishes.

schemathesis generates requests (valid and invalid) for every operation; whatever it sends, the
platform must never answer 5xx, and every refusal must be a JSON `{"error": "..."}` body.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from reference.config import StackConfig
from reference.platform.app import build_app
from reference.platform.testing import PlatformUnderTest, make_config


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformUnderTest]:
    with PlatformUnderTest(make_config(tmp_path_factory.mktemp("openapi"))) as put:
        yield put


def _published_schema() -> dict[str, Any]:
    """The OpenAPI description the platform serves at /openapi.json (built, never started)."""
    with tempfile.TemporaryDirectory(prefix="openapi-") as tmp:
        app = build_app(StackConfig(state_dir=Path(tmp)))
        return dict(app.openapi())


schema = schemathesis.openapi.from_dict(_published_schema())


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_makes_the_platform_fail_or_answer_without_a_json_error(
    case: schemathesis.Case, live: PlatformUnderTest
) -> None:
    cfg = live.config
    headers = {"Authorization": f"Bearer {cfg.admin_token}", "X-Molecule-Org-Id": cfg.org_id}
    response = case.call(base_url=cfg.platform_url, headers=headers, timeout=30)
    where = f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), where
        assert body["error"], where
