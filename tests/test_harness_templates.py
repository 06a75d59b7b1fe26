"""templates.py: a template whose delivered set is over the product's 256 KiB config_files cap
is refused before anything is made, naming the total and the largest files (the product would
only say WORKSPACE_PROVISION_FAILED {"error": "provisioning failed"}, minutes later)."""

from __future__ import annotations

import pytest

from e2e.harness.fixture import TemplateFixture
from e2e.harness.settings import FIXTURES, TEMPLATE_FIXTURE
from e2e.harness.templates import CONFIG_FILES_CAP, TemplateTooLarge, check_caps


def test_the_repo_fixtures_fit() -> None:
    for name in ("seo-agent", "seo-agent-edge"):
        check_caps(TemplateFixture.from_dir(FIXTURES / "templates" / name))


def test_over_the_cap_names_the_total_and_the_three_largest_files() -> None:
    fixture = TemplateFixture(
        {
            "config.yaml": b"name: big\n",
            "prompts/a.md": b"a" * 100_000,
            "prompts/b.md": b"b" * 90_000,
            "prompts/c.md": b"c" * 80_000,
            "prompts/d.md": b"d" * 1_000,
            "CLAUDE.md": b"x" * 500_000,  # not delivered: never counted
        }
    )
    with pytest.raises(TemplateTooLarge) as info:
        check_caps(fixture)
    assert str(info.value) == (
        "template fixture: its config.yaml and prompts/** total 271010 bytes in 5 files, over "
        f"the product's {CONFIG_FILES_CAP}-byte config_files cap; largest: prompts/a.md "
        "(100000 bytes), prompts/b.md (90000 bytes), prompts/c.md (80000 bytes)"
    )


def test_exactly_at_the_cap_is_accepted_one_byte_more_is_not() -> None:
    at_cap = TemplateFixture({"config.yaml": b"x" * CONFIG_FILES_CAP})
    check_caps(at_cap)
    with pytest.raises(TemplateTooLarge, match="total 262145 bytes in 2 files"):
        check_caps(TemplateFixture({**at_cap.files, "prompts/one.md": b"1"}))


def test_a_custom_cap_applies() -> None:
    with pytest.raises(TemplateTooLarge, match=r"over the product's 100-byte config_files cap"):
        check_caps(TemplateFixture.from_dir(TEMPLATE_FIXTURE), cap=100)
