"""The words a failure uses: names the file, sizes, sha256, first differing lines, the stub."""

from __future__ import annotations

from e2e.harness.compare import (
    capped_diff,
    compare,
    first_differing_lines,
    template_headline,
    user_headline,
)
from e2e.harness.manifest import manifest_of_bytes
from e2e.harness.settings import TEMPLATE_FIXTURE
from e2e.harness.verify import TemplateFixture

STUB = b"# stub\n" + b"x" * 211  # 218 bytes, like the box's built-in stub


def test_historical_bug_headline_says_stub_and_prompts_missing() -> None:
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    want = fixture.manifest()
    got = manifest_of_bytes("/configs", {"config.yaml": STUB})
    diffs = compare(want, got)
    headline = template_headline(diffs, want)
    n = len([p for p in fixture.owned if p.startswith("prompts/")])
    assert headline == f"config.yaml is the 218-byte stub; prompts missing ({n} of {n})"
    cfg = next(d for d in diffs if d.path == "config.yaml")
    text = cfg.describe()
    size = len(fixture.owned["config.yaml"])
    assert f"expected {size} bytes" in text and "actual 218 bytes" in text
    assert want.entries["config.yaml"].sha256 in text


def test_headline_for_partial_and_extra_template_files() -> None:
    owned = {"config.yaml": b"a", "prompts/a": b"1", "prompts/b": b"2"}
    want = manifest_of_bytes("/configs", owned)
    got = manifest_of_bytes(
        "/configs", {"config.yaml": b"a", "prompts/a": b"changed", "prompts/old": b"x"}
    )
    headline = template_headline(compare(want, got), want)
    assert "1 of 2 prompts missing: prompts/b" in headline
    assert "1 prompts differ: prompts/a" in headline
    assert "files the template lacks: prompts/old" in headline


def test_first_differing_lines_points_at_the_line() -> None:
    text = first_differing_lines(b"one\ntwo\nthree\nfour\n", b"one\ntwo\nTHREE\nfour\n")
    assert "first difference at line 3" in text
    assert "expected >   3| three" in text and "actual   >   3| THREE" in text


def test_first_differing_lines_when_one_side_is_shorter() -> None:
    text = first_differing_lines(b"a\nb\nc\n", b"a\n")
    assert "line 2" in text and "end of file: 1 lines" in text


def test_capped_diff_is_capped() -> None:
    want = "".join(f"line {n}\n" for n in range(500)).encode()
    got = "".join(f"LINE {n}\n" for n in range(500)).encode()
    diff = capped_diff(want, got, "x.md", max_lines=20)
    assert diff.count("\n") == 20 and "diff cut" in diff


def test_user_headline_names_lost_changed_and_appeared() -> None:
    want = manifest_of_bytes("u", {"/configs/CLAUDE.md": b"mine", "/workspace/a": b"1"})
    got = manifest_of_bytes("u", {"/configs/CLAUDE.md": b"template's", "/workspace/b": b"1"})
    assert user_headline(compare(want, got)) == (
        "user/agent files lost: /workspace/a; changed: /configs/CLAUDE.md; appeared: /workspace/b"
    )
