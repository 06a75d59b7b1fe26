"""faults.py: the harness reads the same fault table as the reference stack
(fixtures/faults.yaml): every switch the stack knows is in it, each is a product fault with
the words its diagnosis must contain or a benign one, and the words' placeholders fill in
from whatever template fixture the run uses."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from e2e.harness.compare import STUB_CONFIG_SIZE
from e2e.harness.faults import (
    BENIGN,
    FAULTS,
    PRODUCT,
    TABLE,
    Fault,
    byte_pattern_files,
    load,
)
from e2e.harness.fixture import TemplateFixture
from e2e.harness.settings import FIXTURES, TEMPLATE_FIXTURE
from reference import faults as reference_faults

PLACEHOLDERS = {
    "stub_size",
    "prompts",
    "plugin",
    "crlf_file",
    "unterminated_file",
    "empty_file",
    "non_ascii_file",
}


def test_the_harness_and_the_stack_read_one_table() -> None:
    assert TABLE.resolve() == reference_faults.TABLE.resolve()
    assert set(FAULTS) == set(reference_faults.KNOWN)


def test_every_fault_the_stack_knows_is_product_or_benign_never_both() -> None:
    for name in reference_faults.KNOWN:
        assert FAULTS[name].kind in ("product", "benign"), name
    assert set(PRODUCT) | set(BENIGN) == set(reference_faults.KNOWN)
    assert not set(PRODUCT) & set(BENIGN)
    assert sorted(PRODUCT) == PRODUCT and sorted(BENIGN) == BENIGN


def test_product_faults_say_what_the_gate_must_say_and_benign_ones_do_not() -> None:
    for name in PRODUCT:
        assert FAULTS[name].diagnosis, f"{name}: a product fault needs diagnosis lines"
        assert all(line.strip() for line in FAULTS[name].diagnosis), name
    for name in BENIGN:
        assert FAULTS[name].diagnosis == (), name
    assert all(f.summary and "\n" not in f.summary for f in FAULTS.values())


def test_diagnosis_lines_use_only_the_known_placeholders() -> None:
    for fault in FAULTS.values():
        for line in fault.diagnosis:
            names = {field for _, field, _, _ in string.Formatter().parse(line) if field}
            assert names <= PLACEHOLDERS, (fault.name, line)


def test_a_fault_that_needs_another_template_names_one_that_exists() -> None:
    needing = {n: f.fixture for n, f in FAULTS.items() if f.fixture}
    assert needing, "the edge-case faults run on seo-agent-edge"
    for name, fixture in needing.items():
        assert (FIXTURES / "templates" / str(fixture) / "config.yaml").is_file(), name


@pytest.mark.parametrize(
    ("template", "prompts"), [(TEMPLATE_FIXTURE, 6), (FIXTURES / "templates" / "seo-agent-edge", 9)]
)
def test_placeholders_fill_from_the_fixture_the_run_uses(template: Path, prompts: int) -> None:
    fixture = TemplateFixture.from_dir(template)
    assert len(fixture.prompts) == prompts
    stub = FAULTS["restart-drops-template"].expected_words(fixture, "seo-all")
    assert stub == [
        f"template: config.yaml is the {STUB_CONFIG_SIZE}-byte stub; "
        f"prompts missing ({prompts} of {prompts})"
    ]
    lost = FAULTS["plugin-lost"].expected_words(fixture, "other-plugin")
    assert lost == [
        "plugin other-plugin is installed but /configs/plugins/other-plugin/ is empty or missing"
    ]
    for fault in FAULTS.values():  # every row fills in for every fixture
        assert all("{" not in w for w in fault.expected_words(fixture, "p"))


def test_the_normalisation_faults_name_a_file_of_the_template_they_run_on() -> None:
    """Each fault that needs the edge template finds, in it, a file with the bytes it changes,
    so its diagnosis names that file (and a template without one says so instead)."""
    for fault in FAULTS.values():
        if not fault.fixture:
            continue
        fixture = TemplateFixture.from_dir(FIXTURES / "templates" / fault.fixture)
        named = byte_pattern_files(fixture)
        assert set(named.values()) <= set(fixture.owned), named
        words = " ".join(fault.expected_words(fixture, "p"))
        assert any(rel in words for rel in fixture.owned), (fault.name, words)
    plain = byte_pattern_files(TemplateFixture({"config.yaml": b"name: x\n"}))
    assert plain["crlf_file"] == "(the template has no crlf file)"


def test_a_table_is_read_with_folded_summaries(tmp_path: Path) -> None:
    table = tmp_path / "faults.yaml"
    table.write_text(
        "faults:\n"
        "  a-fault:\n"
        "    kind: product\n"
        "    fixture: seo-agent-edge\n"
        "    summary: >-\n      two\n      lines\n"
        "    diagnosis:\n      - 'config.yaml is the {stub_size}-byte stub'\n"
        "  b-fault:\n    kind: benign\n    summary: quiet\n",
        encoding="utf-8",
    )
    assert load(table) == {
        "a-fault": Fault(
            "a-fault",
            "product",
            "two lines",
            ("config.yaml is the {stub_size}-byte stub",),
            "seo-agent-edge",
        ),
        "b-fault": Fault("b-fault", "benign", "quiet", ()),
    }
