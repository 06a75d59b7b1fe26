"""`POST /workspaces` from body to row (reference/platform/creation.py `plan`), against the
product's create handler (handlers/workspace.go): refusals in the product's order and shapes,
runtime/model from the template's config.yaml, the unknown-template fallback, name suffixes,
the default parent, persistence values, SaaS tier 4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.platform_rows import add_row, write_tree

from reference.common.web import ApiError
from reference.config import StackConfig
from reference.platform.creation import CreateBody, plan
from reference.platform.store import Store

TEMPLATES = {
    "full/config.yaml": "name: full\nruntime: claude-code\nmodel: m-full\nplugins:\n  - seo-all\n",
    "nested/config.yaml": "runtime: hermes\nruntime_config:\n  provider: x\n  model: m-nested\n",
    "no-runtime/config.yaml": "name: no-runtime\nmodel: m\n",
    "no-model/config.yaml": "runtime: claude-code\n",
    "cobol/config.yaml": "runtime: cobol\nmodel: m\n",
    "no-config/prompts/a.md": "a\n",
    "claude-code-default/config.yaml": "runtime: claude-code\nmodel: m-default\n",
}
MODEL_REQUIRED_PREFIX = (
    'model is required and has no platform-side default — pass an explicit "model" in the '
    'request body, or use a "template" whose config.yaml declares one.'
)


@pytest.fixture
def world(tmp_path: Path) -> tuple[StackConfig, Store]:
    root = write_tree(tmp_path / "templates", dict(TEMPLATES))
    config = StackConfig(state_dir=tmp_path / "state", template_roots=[root])
    return config, Store(tmp_path / "state" / "db.sqlite3")


def planned(world: tuple[StackConfig, Store], **body: Any) -> dict[str, Any]:
    config, store = world
    return plan(config, store, CreateBody(**body))


def refused(world: tuple[StackConfig, Store], **body: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiError) as caught:
        planned(world, **body)
    assert caught.value.body is not None
    return caught.value.status, caught.value.body


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("template", ["no-runtime", "no-config", "not-a-template"])
def test_a_template_without_a_resolvable_runtime_is_runtime_unresolved(
    world: tuple[StackConfig, Store], template: str
) -> None:
    status, body = refused(world, name="w", template=template)
    assert status == 422
    assert set(body) == {"error", "template", "code"}
    assert (body["code"], body["template"]) == ("RUNTIME_UNRESOLVED", template)
    assert "runtime could not be resolved" in body["error"]


def test_an_unknown_runtime_is_runtime_unsupported(world: tuple[StackConfig, Store]) -> None:
    expected = {
        "error": "unsupported workspace runtime",
        "runtime": "cobol",
        "code": "RUNTIME_UNSUPPORTED",
    }
    assert refused(world, name="w", runtime="cobol", model="m") == (422, expected)
    assert refused(world, name="w", template="cobol") == (422, expected)


def test_a_missing_model_is_model_required_naming_runtime_and_template(
    world: tuple[StackConfig, Store],
) -> None:
    status, body = refused(world, name="w", template="no-model")
    assert status == 422
    assert set(body) == {"error", "runtime", "template", "code"}
    assert (body["code"], body["runtime"], body["template"]) == (
        "MODEL_REQUIRED",
        "claude-code",
        "no-model",
    )
    assert body["error"].startswith(MODEL_REQUIRED_PREFIX)


@pytest.mark.parametrize("template", ["../etc", "/etc", "a/../../b", "a\\b"])
def test_a_template_path_escaping_the_root_is_400_invalid_template(
    world: tuple[StackConfig, Store], template: str
) -> None:
    assert refused(world, name="w", template=template) == (400, {"error": "invalid template"})


def test_a_template_symlinked_out_of_the_root_is_400_invalid_template(
    world: tuple[StackConfig, Store], tmp_path: Path
) -> None:
    outside = write_tree(tmp_path / "outside", {"config.yaml": "runtime: claude-code\nmodel: m\n"})
    config, _ = world
    (config.template_roots[0] / "escape").symlink_to(outside, target_is_directory=True)
    assert refused(world, name="w", template="escape") == (400, {"error": "invalid template"})


def test_persistence_must_be_persist_ephemeral_or_empty(world: tuple[StackConfig, Store]) -> None:
    for value in ("persist", "ephemeral", ""):
        row = planned(
            world, name=f"w-{value}", template="full", compute={"data_persistence": value}
        )
        assert row["compute"] == {"data_persistence": value}
    assert refused(world, name="w", template="full", compute={"data_persistence": "forever"}) == (
        400,
        {"error": "unsupported compute.data_persistence (want persist|ephemeral)"},
    )


# -- runtime and model from the template ------------------------------------------------------


def test_runtime_model_and_declared_plugins_come_from_the_templates_config(
    world: tuple[StackConfig, Store],
) -> None:
    row = planned(world, name="w", template="full")
    assert (row["runtime"], row["model"], row["template"]) == ("claude-code", "m-full", "full")
    assert row["declared_plugins"] == ["seo-all"]
    nested = planned(world, name="n", template="nested")
    assert (nested["runtime"], nested["model"]) == ("hermes", "m-nested")


def test_the_body_wins_over_the_templates_config(world: tuple[StackConfig, Store]) -> None:
    row = planned(world, name="w", template="full", runtime="codex", model="m-body")
    assert (row["runtime"], row["model"], row["template"]) == ("codex", "m-body", "full")
    assert planned(world, name="x", template="full", model="m-body")["runtime"] == "claude-code"


def test_an_unknown_template_with_runtime_and_model_falls_back_to_runtime_default(
    world: tuple[StackConfig, Store],
) -> None:
    row = planned(world, name="w", template="gone", runtime="claude-code", model="m")
    assert (row["template"], row["runtime"], row["model"]) == (
        "claude-code-default",
        "claude-code",
        "m",
    )
    other = planned(world, name="h", template="gone", runtime="hermes", model="m")
    assert other["template"] == ""  # no hermes-default here


def test_an_unknown_template_with_runtime_but_no_model_is_model_required(
    world: tuple[StackConfig, Store],
) -> None:
    status, body = refused(world, name="w", template="gone", runtime="claude-code")
    assert (status, body["code"]) == (422, "MODEL_REQUIRED")
    assert body["runtime"] == "claude-code"


def test_no_template_and_no_runtime_defaults_to_claude_code(
    world: tuple[StackConfig, Store],
) -> None:
    assert planned(world, name="w", model="m")["runtime"] == "claude-code"


# -- names, parents, tier ---------------------------------------------------------------------


def test_a_taken_name_gets_the_next_free_suffix_among_siblings(
    world: tuple[StackConfig, Store],
) -> None:
    config, store = world
    parent = add_row(store, "p").id
    add_row(store, "w", parent_id=parent)
    assert planned(world, name="w", template="full", parent_id=parent)["name"] == "w (2)"
    add_row(store, "w (2)", parent_id=parent)
    add_row(store, "w (3)", parent_id=parent, status="removed")  # removed names are free
    assert planned(world, name="w", template="full", parent_id=parent)["name"] == "w (3)"
    config.default_parent = "none"  # a root: no sibling is called "w"
    assert planned(world, name="w", template="full")["name"] == "w"


def test_names_run_out_after_suffix_21(world: tuple[StackConfig, Store]) -> None:
    _, store = world
    parent = add_row(store, "p").id
    for name in ["w", *[f"w ({n})" for n in range(2, 21)]]:
        add_row(store, name, parent_id=parent)
    assert planned(world, name="w", template="full", parent_id=parent)["name"] == "w (21)"
    add_row(store, "w (21)", parent_id=parent)
    assert refused(world, name="w", template="full", parent_id=parent) == (
        409,
        {"error": "workspace name already in use; please pick a different name"},
    )


def test_the_default_parent_is_the_single_root(world: tuple[StackConfig, Store]) -> None:
    config, store = world
    assert planned(world, name="first", template="full")["parent_id"] is None
    root = add_row(store, "root")
    add_row(store, "child", parent_id=root.id)
    assert planned(world, name="w", template="full")["parent_id"] == root.id
    config.default_parent = "none"
    assert planned(world, name="w", template="full")["parent_id"] is None


def test_no_default_parent_with_two_roots_but_a_removed_root_does_not_count(
    world: tuple[StackConfig, Store],
) -> None:
    _, store = world
    root = add_row(store, "root")
    gone = add_row(store, "gone", status="removed")
    assert planned(world, name="w", template="full")["parent_id"] == root.id
    store.update(gone.id, status="online")
    assert planned(world, name="w", template="full")["parent_id"] is None


def test_an_explicit_unknown_parent_is_refused(world: tuple[StackConfig, Store]) -> None:
    status, body = refused(world, name="w", template="full", parent_id="no-such-id")
    assert (status, body["error"]) == (400, "invalid workspace fields")


def test_saas_forces_tier_4_and_docker_keeps_the_bodys(world: tuple[StackConfig, Store]) -> None:
    config, _ = world
    assert planned(world, name="a", template="full", tier=2)["tier"] == 4
    config.backend = "docker"
    assert planned(world, name="b", template="full", tier=2)["tier"] == 2
    assert planned(world, name="c", template="full")["tier"] == 1


def test_an_empty_name_is_invalid(world: tuple[StackConfig, Store]) -> None:
    assert refused(world, name="  ", template="full") == (
        400,
        {"error": "invalid workspace fields"},
    )


def test_each_workspace_gets_its_own_token(world: tuple[StackConfig, Store]) -> None:
    a, b = planned(world, name="a", template="full"), planned(world, name="b", template="full")
    assert a["token"] != b["token"] and len(a["token"]) > 20
