"""compare.py: the words a failure uses — the file, sizes, sha256, where the bytes first part
ways (as escapes, so CRLF, a BOM, a tab or a missing final newline are visible), the stub."""

from __future__ import annotations

import pytest

from e2e.harness.compare import (
    STUB_CONFIG_SIZE,
    capped_diff,
    compare,
    first_differing_bytes,
    first_differing_lines,
    template_headline,
    user_headline,
)
from e2e.harness.fixture import TemplateFixture
from e2e.harness.manifest import manifest_of_bytes
from e2e.harness.settings import TEMPLATE_FIXTURE

STUB = b"# stub\n" + b"x" * 211  # 218 bytes, like the box's built-in stub
assert len(STUB) == STUB_CONFIG_SIZE


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
    assert "1 prompt differs: prompts/a" in headline
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


def test_only_the_prompts_missing_is_said_when_config_yaml_arrived() -> None:
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    want = fixture.manifest()
    got = manifest_of_bytes("/configs", {"config.yaml": fixture.owned["config.yaml"]})
    assert template_headline(compare(want, got), want) == "prompts missing (6 of 6)"
    nothing = manifest_of_bytes("/configs", {})
    assert template_headline(compare(want, nothing), want) == (
        "config.yaml missing; prompts missing (6 of 6)"
    )
    other = manifest_of_bytes("/configs", {**fixture.owned, "config.yaml": b"name: other\n"})
    assert template_headline(compare(want, other), want) == (
        f"config.yaml differs ({len(fixture.owned['config.yaml'])} → 12 bytes)"
    )


@pytest.mark.parametrize(
    ("expected", "actual", "head", "shown"),
    [
        (b"one\r\ntwo\r\n", b"one\ntwo\n", "first difference at byte 3 (line 1):", r"one\r\ntwo"),
        (
            b"a\nb\n",
            b"a\nb",
            "at byte 3 (line 2): one is a prefix of the other; expected continues",
            r"a\nb\n",
        ),
        (b"a\nb", b"a\nb\n", "one is a prefix of the other; actual continues", r"a\nb\n"),
        (
            b"\xef\xbb\xbf# Title\n",
            b"# Title\n",
            "first difference at byte 0 (line 1):",
            r"\xef\xbb\xbf# Title",
        ),
        (
            b"key:\tvalue\n",
            b"key:    value\n",
            "first difference at byte 4 (line 1):",
            r"key:\tvalue",
        ),
        (b"end  \n", b"end\n", "first difference at byte 3 (line 1):", r"end  \n"),
    ],
    ids=[
        "crlf-vs-lf",
        "missing-final-newline",
        "added-final-newline",
        "bom",
        "tab",
        "trailing-spaces",
    ],
)
def test_first_differing_bytes_makes_invisible_differences_visible(
    expected: bytes, actual: bytes, head: str, shown: str
) -> None:
    text = first_differing_bytes(expected, actual)
    lines = text.splitlines()
    assert head in lines[0]
    assert lines[1].startswith("  expected …") and lines[2].startswith("  actual   …")
    assert shown in text


def test_first_differing_bytes_adds_the_lines_only_when_the_lines_differ() -> None:
    crlf = first_differing_bytes(b"one\r\ntwo\r\n", b"one\ntwo\n")
    assert "first difference at line" not in crlf  # same lines, other ends: bytes say it all
    bom = first_differing_bytes(b"\xef\xbb\xbfhello\n", b"hello\n")
    assert "first difference at line 1:" in bom
    words = first_differing_bytes(b"alpha\nbeta\ngamma\n", b"alpha\nBETA\ngamma\n")
    assert "first difference at byte 6 (line 2)" in words and "actual   >   2| BETA" in words
    binary = first_differing_bytes(b"\x00\xff\x01", b"\x00\xfe\x01")
    assert "first difference at byte 1" in binary and r"\xff" in binary


def test_first_differing_bytes_shows_a_window_not_the_whole_file() -> None:
    want, got = b"x" * 10_000 + b"A" + b"y" * 10_000, b"x" * 10_000 + b"B" + b"y" * 10_000
    text = first_differing_bytes(want, got)
    assert "first difference at byte 10000 (line 1)" in text
    assert "…" + "x" * 24 + "A" + "y" * 23 + "…" in text
    assert len(text) < 1000  # a window and two capped lines, never the 20 KB
