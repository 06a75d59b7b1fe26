"""Property-based test of the platform API from the OpenAPI description it publishes, against a
real stack: whatever schemathesis generates (valid and invalid requests for every operation),
the platform never answers 5xx, and every refusal is JSON: the product's `{"error": "..."}`, or
the 409 `confirmation_required` body of a DELETE with children (workspace_crud.go:519-527).

The schema is read from the running platform when the test runs (nothing is built at
collection), and hypothesis drives each operation's strategies directly:
`schemathesis.pytest.from_fixture` does not run under this pytest.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from support.tenant_api import Tenant

pytest_plugins = ["support.stack_fixtures"]

EXAMPLES = 6


def check(case: schemathesis.Case, tenant: Tenant) -> None:
    response = case.call(base_url=tenant.url, headers=tenant.admin, timeout=30)
    where = f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict), where
        if body.get("status") == "confirmation_required":
            assert response.status_code == 409, where
        else:
            assert isinstance(body.get("error"), str) and body["error"], where


def test_no_request_makes_the_platform_fail_or_refuse_without_a_json_error(
    tenant: Tenant,
) -> None:
    schema = schemathesis.openapi.from_dict(tenant.ok("GET", "/openapi.json"))
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15
    failures = []
    for operation in operations:
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]
        if "{workspace_id}" in operation.path:  # also against a workspace that exists
            real = {"workspace_id": tenant.root_id}
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
        cases = st.one_of(strategies)

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def property_holds(case: schemathesis.Case) -> None:
            check(case, tenant)

        try:
            property_holds()
        except AssertionError as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n".join(failures)
