"""The create handler's line scanner for a template's config.yaml (workspace.go:360-385), as
reference/platform/templates.py `runtime_and_model` imitates it: top-level `runtime:`, top-level
`model:` or `model:` indented under `runtime_config:`, first occurrence wins."""

from __future__ import annotations

import pytest

from reference.platform.templates import runtime_and_model


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("runtime: claude-code\nmodel: m\n", ("claude-code", "m")),
        ("model: m\nruntime: hermes\n", ("hermes", "m")),
        ("runtime:codex\nmodel:m\n", ("codex", "m")),
        (
            "runtime: hermes\nruntime_config:\n  provider: x\n  model: nested\n",
            ("hermes", "nested"),
        ),
        ("runtime_config:\n  model: nested\nmodel: top\n", ("", "nested")),
        ("model: top\nruntime_config:\n  model: nested\n", ("", "top")),
        ("runtime: a\nruntime: b\nmodel: m1\nmodel: m2\n", ("a", "m1")),
        ("runtime:\nruntime: b\n", ("b", "")),
        ("name: x\n  runtime: indented\n  model: indented\n", ("", "")),
        ("other:\n  model: not-runtime-config\n", ("", "")),
        ("runtime_config:\n  model: n\n", ("", "n")),
        ("runtimes: x\nmodel_name: y\n", ("", "")),
        ('model: "quoted"\n', ("", "quoted")),
        ("model: 'single'\n", ("", "single")),
        ("runtime: claude-code\r\nmodel: m\r\n", ("claude-code", "m")),
        ("runtime_config:\n\tmodel: tabbed\n", ("", "tabbed")),
        ("", ("", "")),
    ],
)
def test_scanner_reads_runtime_and_model_as_the_product_does(
    text: str, expected: tuple[str, str]
) -> None:
    assert runtime_and_model(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("runtime: claude-code  # the default\n", ("claude-code  # the default", "")),
        ('runtime: "claude-code"\n', ('"claude-code"', "")),
        ("model: m  # pinned\n", ("", "m  # pinned")),
        ("model: \"m'\n", ("", "m")),
        ("runtime_config:\n\n  model: after-blank\n", ("", "")),
    ],
)
def test_scanner_edge_cases_as_the_product_reads_them(text: str, expected: tuple[str, str]) -> None:
    assert runtime_and_model(text) == expected
