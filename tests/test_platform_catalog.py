"""Templates as the tenant knows them (reference/platform/catalog.py vs handlers/
template_import.go and templates.go): import with the product's answers and limits, and the
listing that silently skips what it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.platform_rows import write_tree

from reference.common.web import ApiError
from reference.config import StackConfig
from reference.platform.catalog import ImportRefused, import_template, listing, normalise_name
from reference.platform.creation import CreateBody, plan
from reference.platform.store import Store

GENERATED = "name: {name}\nmodel: anthropic:claude-haiku-4-5-20251001\n"


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    builtin = write_tree(tmp_path / "builtin", {"seo-agent/config.yaml": "runtime: claude-code\n"})
    state = tmp_path / "state"
    return StackConfig(state_dir=state, template_roots=[state / "templates", builtin])


def refusal(config: StackConfig, name: str, files: dict[str, str]) -> tuple[int, dict[str, object]]:
    with pytest.raises(ImportRefused) as caught:
        import_template(config, name, files)
    return caught.value.status, caught.value.body


def leftovers(config: StackConfig) -> list[str]:
    root = config.imported_templates_dir
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize(
    ("name", "directory"),
    [
        ("My Template", "my-template"),
        ("SEO_agent v2.0", "seo_agent-v20"),
        ("a/b\\c..d", "abcd"),
        ("Ärger-Süß", "rger-s"),
        ("tab\there", "tabhere"),
    ],
)
def test_normalise_name_lowercases_dashes_spaces_and_keeps_only_safe_characters(
    name: str, directory: str
) -> None:
    assert normalise_name(name) == directory


@pytest.mark.parametrize(("name", "directory"), [(" padded ", "-padded-"), ("!!!", "unnamed")])
def test_normalise_name_edges_as_the_product(name: str, directory: str) -> None:
    assert normalise_name(name) == directory


def test_import_writes_the_files_and_answers_201_with_the_given_name(config: StackConfig) -> None:
    files = {"config.yaml": "runtime: claude-code\nmodel: m\n", "prompts/a/b.md": "ü\r\nx"}
    answer = import_template(config, "My Template", files)
    assert answer == {"status": "imported", "id": "my-template", "name": "My Template"}
    directory = config.imported_templates_dir / "my-template"
    assert (directory / "prompts/a/b.md").read_bytes() == "ü\r\nx".encode()
    assert (directory / "config.yaml").stat().st_mode & 0o777 == 0o600
    assert leftovers(config) == ["my-template"]


def test_import_of_an_existing_id_is_409_naming_it(config: StackConfig) -> None:
    import_template(config, "mine", {"config.yaml": "x"})
    expected = {"error": "template already exists", "id": "mine"}
    assert refusal(config, "MINE", {"config.yaml": "y"}) == (409, expected)
    assert refusal(config, "SEO Agent", {}) == (  # a built-in one
        409,
        {"error": "template already exists", "id": "seo-agent"},
    )


@pytest.mark.parametrize("bad", ["../x", "/abs", "a//b", "a\\b", "./a", "", "a/../../b"])
def test_a_bad_file_path_is_400_invalid_request_body_and_writes_nothing(
    config: StackConfig, bad: str
) -> None:
    files = {"config.yaml": "x", bad: "y"}
    assert refusal(config, "t", files) == (400, {"error": "invalid request body"})
    assert leftovers(config) == []


def test_more_than_200_files_is_refused_and_200_are_fine(config: StackConfig) -> None:
    many = {f"prompts/{n}.md": "x" for n in range(201)}
    assert refusal(config, "many", many) == (400, {"error": "too many files (201), max 200"})
    del many["prompts/200.md"]
    assert import_template(config, "many", many)["id"] == "many"


def test_a_template_without_config_yaml_gets_a_generated_one_with_no_runtime(
    config: StackConfig,
) -> None:
    import_template(config, "Bare One", {"prompts/a.md": "a"})
    config_yaml = (config.imported_templates_dir / "bare-one" / "config.yaml").read_text()
    assert config_yaml == GENERATED.format(name="Bare One")
    with pytest.raises(ApiError) as caught:  # so a create with it cannot resolve a runtime
        plan(
            config,
            Store(config.state_dir / "db.sqlite3"),
            CreateBody(name="w", template="bare-one"),
        )
    assert caught.value.status == 422
    assert caught.value.body is not None and caught.value.body["code"] == "RUNTIME_UNRESOLVED"


def test_a_write_that_fails_midway_leaves_no_directory(config: StackConfig) -> None:
    files = {"config.yaml": "x", "prompts/ok.md": "fine", "prompts/" + "n" * 300 + ".md": "long"}
    assert refusal(config, "half", files) == (400, {"error": "invalid request body"})
    assert leftovers(config) == []  # neither the template nor its staging directory
    files = {"prompts/a/b.md": "x", "prompts/a": "a file where a directory is"}
    assert refusal(config, "clash", files) == (400, {"error": "invalid request body"})
    assert leftovers(config) == []


def test_a_file_then_a_path_through_it_is_400_not_409(config: StackConfig) -> None:
    files = {"prompts/a": "a file", "prompts/a/b.md": "needs a directory"}
    assert refusal(config, "clash", files) == (400, {"error": "invalid request body"})


# -- listing ---------------------------------------------------------------------------------


def test_listing_summarises_templates_and_skips_what_it_cannot_read(config: StackConfig) -> None:
    write_tree(
        config.imported_templates_dir,
        {
            "good/config.yaml": "name: Good One\ndescription: d\nruntime: hermes\nmodel: m\n"
            "skills:\n  - a\n  - b\n",
            "unnamed/config.yaml": "runtime: codex\n",
            "bad-yaml/config.yaml": "runtime: claude-code\nname: [unclosed\n",
            "unknown-runtime/config.yaml": "runtime: cobol\nmodel: m\n",
            "no-runtime/config.yaml": "name: x\nmodel: m\n",
            "a-list/config.yaml": "- runtime: claude-code\n",
            "no-config/prompts/a.md": "a",
            ".hidden/config.yaml": "runtime: claude-code\n",
            "seo-agent/config.yaml": "name: shadow\nruntime: codex\n",
        },
    )
    items = {item["id"]: item for item in listing(config)}
    assert sorted(items) == ["good", "no-runtime", "seo-agent", "unnamed"]  # no runtime: listed
    assert items["good"] == {
        "id": "good",
        "name": "Good One",
        "description": "d",
        "tier": 4,
        "runtime": "hermes",
        "model": "m",
        "skills": ["a", "b"],
        "skill_count": 2,
    }
    assert (items["unnamed"]["name"], items["unnamed"]["skill_count"]) == ("", 0)  # as is
    assert items["seo-agent"]["name"] == "shadow"  # the first root with the id wins


def test_an_imported_template_without_runtime_is_still_listed(config: StackConfig) -> None:
    import_template(config, "Bare One", {"prompts/a.md": "a"})
    write_tree(config.imported_templates_dir, {"nameless/config.yaml": "runtime: codex\n"})
    items = {item["id"]: item for item in listing(config)}
    assert (items["bare-one"]["name"], items["bare-one"]["runtime"]) == ("Bare One", "")
    assert items["nameless"]["name"] == ""
