"""The harness's models of product answers (e2e/harness/product.py) parse the product's own
answers as its source writes them (support/product_samples.py): a model that needs a field the
product does not send, or refuses a shape it does send, fails here, not against staging."""

from __future__ import annotations

from typing import Any

import pytest
from support import product_samples as s

from e2e.harness import product
from e2e.harness.product import ApiDrift, parse, parse_list

ONE: list[tuple[type[Any], dict[str, Any]]] = [
    (product.Created, s.CREATED),
    (product.WorkspaceRow, s.ONE_ROW),
    (product.WorkspaceRow, s.LIST_ROW),
    (product.Restarted, s.RESTARTED),
    (product.PluginInstalled, s.PLUGIN_INSTALLED),
    (product.Removed, s.REMOVED),
    (product.TemplateImported, s.TEMPLATE_IMPORTED),
    (product.TemplateSummary, s.TEMPLATE_SUMMARY),
    (product.FileContent, s.FILE_CONTENT),
    (product.BuildInfo, s.BUILD_INFO),
    (product.ModelAnswer, s.MODEL),
]


@pytest.mark.parametrize(("model", "sample"), ONE, ids=[m.__name__ for m, _ in ONE])
def test_each_model_parses_the_products_answer(model: type[Any], sample: dict[str, Any]) -> None:
    parsed = parse(model, sample, "sample")
    assert parsed.model_dump(mode="json", exclude_unset=True).keys() <= sample.keys()


def test_event_items_parse_with_every_created_at_the_product_writes() -> None:
    events = parse_list(product.Event, s.EVENTS, "GET /events/:id")
    assert [e.event_type for e in events][:2] == ["WORKSPACE_PROVISIONING", "WORKSPACE_ONLINE"]
    assert all(e.created_at.tzinfo is not None for e in events)
    assert events[2].created_at.microsecond == 0 and events[1].created_at.microsecond == 500000


def test_list_answers_parse_and_a_non_array_is_drift() -> None:
    assert len(parse_list(product.WorkspaceRow, [s.LIST_ROW, s.LIST_ROW], "GET /workspaces")) == 2
    assert len(parse_list(product.FileEntry, s.FILE_ENTRIES, "GET /files")) == 3
    with pytest.raises(ApiDrift, match="not an array"):
        parse_list(product.WorkspaceRow, {"workspaces": []}, "GET /workspaces")


def test_the_samples_say_what_the_product_never_sends() -> None:
    for row in (s.ONE_ROW, s.LIST_ROW):
        assert not set(s.NEVER_IN_A_ROW) & set(row)
    assert "last_sample_error" in s.LIST_ROW and "last_sample_error" not in s.ONE_ROW
    assert set(s.TEMPLATE_SUMMARY) <= s.TEMPLATE_SUMMARY_KEYS
