"""The fixtures are the expected bytes of every e2e check: keep them honest and useful."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TEMPLATE = FIXTURES / "templates" / "seo-agent"
EDGE = FIXTURES / "templates" / "seo-agent-edge"
PLUGIN = FIXTURES / "plugins" / "seo-all"
SECRET_STRING_LIMIT = 64 * 1024


def template_owned(root: Path) -> list[Path]:
    owned = [root / "config.yaml"]
    owned += sorted(p for p in (root / "prompts").rglob("*") if p.is_file())
    return owned


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((TEMPLATE / "config.yaml").read_text(encoding="utf-8"))


def test_config_declares_identity_prompts_plugins_and_skills(config: dict) -> None:
    for key in ("name", "role", "description", "runtime", "model", "prompt_files", "skills"):
        assert config.get(key), f"config.yaml lacks {key}"
    assert config["plugins"] == ["seo-all"]


@pytest.mark.parametrize("template", [TEMPLATE, EDGE], ids=["seo-agent", "seo-agent-edge"])
def test_every_prompt_file_exists_and_all_prompts_are_listed(template: Path) -> None:
    config = yaml.safe_load((template / "config.yaml").read_text(encoding="utf-8"))
    listed = set(config["prompt_files"])
    on_disk = {p.relative_to(template).as_posix() for p in template_owned(template)[1:]}
    assert listed == on_disk
    assert config["plugins"] == ["seo-all"] and config["runtime"] and config["model"]


def test_prompts_cover_nested_non_ascii_and_large_files() -> None:
    prompts = template_owned(TEMPLATE)[1:]
    assert len(prompts) >= 5
    assert any(len(p.relative_to(TEMPLATE / "prompts").parts) > 1 for p in prompts)
    assert any(not p.read_text(encoding="utf-8").isascii() for p in prompts)
    assert any(18_000 <= p.stat().st_size <= 24_000 for p in prompts)


def test_template_owned_part_fits_well_under_the_secret_limit() -> None:
    total = sum(p.stat().st_size for p in template_owned(TEMPLATE))
    assert total < SECRET_STRING_LIMIT // 2, total


def test_template_defaults_exist_to_catch_a_provisioner_without_allowlist() -> None:
    assert (TEMPLATE / "CLAUDE.md").is_file()
    assert (TEMPLATE / ".claude" / "settings.json").is_file()


def test_the_plugin_has_the_real_seo_all_shape() -> None:
    """A skill package like the real seo-all (PRODUCT-API "Plugins and reconcile"): SKILL.md at
    its root, plus rules, skills, a command and a settings fragment to exercise every effect."""
    front = (PLUGIN / "SKILL.md").read_text(encoding="utf-8").split("---")[1]
    assert yaml.safe_load(front)["name"] == "seo-all"
    assert list((PLUGIN / "rules").glob("*.md"))
    skills = list((PLUGIN / "skills").glob("*/SKILL.md"))
    assert skills and all(yaml.safe_load(p.read_text().split("---")[1])["name"] for p in skills)
    assert list((PLUGIN / "commands").glob("*.md"))
    fragment = json.loads((PLUGIN / "settings-fragment.json").read_text(encoding="utf-8"))
    assert isinstance(fragment, dict) and fragment
