"""Plugin sources as the product names them (reference/platform/plugins.py vs plugins/source.go,
gitea.go, github.go, template_plugins.go, plugins_tracking.go)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.platform_rows import write_tree

from reference.platform.plugins import (
    PluginError,
    boot_sources,
    declared_sources,
    install_name,
    load_bundle,
)

SEO_ALL = "gitea://molecule-ai/molecule-ai-workspace-template-seo-agent/agent-skills/seo-all#main"


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("local://seo-all", "seo-all"),
        ("seo-all", "seo-all"),
        ("  seo-all  ", "seo-all"),
        (SEO_ALL, "seo-all"),
        ("gitea://o/r/sub/x#v1.2.0", "x"),
        ("gitea://o/some-repo#v1", "some-repo"),
        ("gitea://o/r/plugins/foo#sha:abc123", "foo"),
        ("github://o/my-plugin#abc123", "my-plugin"),
        ("github://o/r.js#main", "r.js"),
    ],
)
def test_install_name_is_the_last_path_segment(source: str, name: str) -> None:
    assert install_name(source) == name


@pytest.mark.parametrize("source", ["github://o/r", "gitea://o/r/sub/x", "gitea://o/r"])
def test_unpinned_github_and_gitea_sources_are_refused_422_naming_the_source(source: str) -> None:
    with pytest.raises(PluginError) as caught:
        install_name(source)
    assert caught.value.status == 422
    assert caught.value.message.startswith("unpinned plugin source: append a tag or commit SHA")
    assert caught.value.fields == {"source": source}


def test_an_empty_source_is_400_source_required() -> None:
    with pytest.raises(PluginError) as caught:
        install_name("  ")
    assert caught.value.status == 400 and caught.value.message.startswith("'source' is required")


def test_an_unknown_scheme_is_400_naming_the_available_schemes() -> None:
    with pytest.raises(PluginError) as caught:
        install_name("ftp://host/x")
    assert (caught.value.status, caught.value.message) == (400, "failed to resolve plugin source")
    assert caught.value.fields == {"available_schemes": ["local", "github", "gitea"]}


@pytest.mark.parametrize("source", ["local://", "..", "local://-x", "a b", "local://x/.."])
def test_a_source_without_a_valid_name_is_400_invalid(source: str) -> None:
    with pytest.raises(PluginError) as caught:
        install_name(source)
    assert (caught.value.status, caught.value.message) == (400, "invalid plugin source")


# -- declared and boot-time sources ----------------------------------------------------------


def test_declared_sources_are_the_plugins_list_of_strings_in_order_without_repeats() -> None:
    text = f"name: t\nplugins:\n  - seo-all\n  - {SEO_ALL}\n  - seo-all\n  - local://x\n"
    assert declared_sources(text) == ["seo-all", SEO_ALL, "local://x"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name: t\n",
        "plugins: seo-all\n",
        "plugins:\n  - name: seo-all\n    source: x\n",
        "plugins:\n  - a\n  - {b: c}\n",
        "plugins: [unclosed\n",
        "- just\n- a list\n",
        "plugins:\n",
    ],
)
def test_anything_but_a_list_of_strings_declares_nothing(text: str) -> None:
    assert declared_sources(text) == []


def test_boot_sources_are_declared_union_installed_with_the_installed_source_winning() -> None:
    declared = ["seo-all", "gitea://o/r/x/foo#main", "github://o/unpinned"]
    installed = [
        {"name": "seo-all", "source": SEO_ALL},
        {"name": "bar", "source": "local://bar"},
    ]
    assert boot_sources(declared, installed) == ["local://bar", "gitea://o/r/x/foo#main", SEO_ALL]
    assert boot_sources([], []) == []
    assert boot_sources(["a", "local://a"], []) == ["local://a"]  # one per install name


def test_a_bundle_is_every_regular_file_with_symlinks_and_escapes_skipped(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "plugins", {"p/SKILL.md": b"s", "p/rules/r.md": b"\xff r"})
    (root / "p" / "link.md").symlink_to(root / "p" / "SKILL.md")
    write_tree(tmp_path, {"outside/x.md": b"x"})
    (root / "away").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert load_bundle(root, "p") == {"SKILL.md": b"s", "rules/r.md": b"\xff r"}
    for name in ("away", "missing", ".."):
        with pytest.raises(PluginError) as caught:
            load_bundle(root, name)
        assert caught.value.status == 404
