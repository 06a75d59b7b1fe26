"""decide.py (and verify.channel_findings): one reading decided against the expectations.
Template differences are explained byte by byte; a user file's change is either a plugin's
legitimate effect or a finding; an installed plugin must be there; two channels that disagree
are a finding of their own. The box is a local directory (support.local_box): real manifests,
real files, no transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.local_box import IDENTITY, LocalBox, seeded_box

from e2e.harness.decide import MAX_DIFF_FILES, decide
from e2e.harness.effects import plugin_files
from e2e.harness.fixture import CONFIGS, WORKSPACE, Expected
from e2e.harness.manifest import Manifest
from e2e.harness.settings import FIXTURES, PLUGINS_FIXTURE, TEMPLATE_FIXTURE
from e2e.harness.ssm import SsmError
from e2e.harness.verify import BoxReading, Verification, VerificationFailed, channel_findings
from reference.box.plugin_effects import apply_plugin_effects

EDGE = FIXTURES / "templates" / "seo-agent-edge"
STUB = b"# built-in stub\nname: stub\n" + b"#" * 191
USER = {
    f"{CONFIGS}/CLAUDE.md": b"# My own CLAUDE.md\n\nBe brief.\n",
    f"{CONFIGS}/MEMORY.md": b"# Memory\n- British spelling\n",
    f"{CONFIGS}/.claude/settings.json": b'{"model": "user-choice"}\n',
    f"{WORKSPACE}/notes/meeting notes.md": b"- ship the audit\n",
    f"{WORKSPACE}/README.md": "café ☕\n".encode(),
}


class CountingReader:
    """A reader over a LocalBox that counts whole-file reads (or fails them)."""

    def __init__(self, box: LocalBox, fail: bool = False) -> None:
        self.box = box
        self.fail = fail
        self.reads: list[str] = []

    def read(self, path: str) -> bytes | None:
        self.reads.append(path)
        if self.fail:
            raise SsmError("command failed: box went away")
        return self.box.read(path)


def delivered(tmp_path: Path, template: Path = TEMPLATE_FIXTURE) -> tuple[LocalBox, Expected]:
    return seeded_box(tmp_path / "box", template, USER)


def test_a_faithful_box_has_no_findings_and_counts_what_it_checked(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    decision = decide("after restart", box.reading(), expected, CountingReader(box))
    assert decision.findings == [] and decision.diffs == {}
    assert decision.files_checked == len(expected.template.owned) + len(USER)


def test_the_stub_is_named_and_explained_with_its_first_bytes(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    for rel in expected.template.owned:
        (box.configs / rel).unlink()
    (box.configs / "config.yaml").write_bytes(STUB)
    decision = decide("after manual restart 1", box.reading(), expected, CountingReader(box))
    (finding,) = decision.findings
    assert finding.section == "template"
    assert finding.headline == "config.yaml is the 218-byte stub; prompts missing (6 of 6)"
    config = next(d for d in finding.details if d.startswith("config.yaml: differs"))
    assert "first difference at byte 2 (line 1):" in config and "# built-in stub" in config
    assert set(decision.diffs) == {"config.yaml"}


def test_a_normalised_line_end_is_shown_as_escapes(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path, EDGE)
    crlf = box.configs / "prompts" / "windows-crlf.md"
    crlf.write_bytes(crlf.read_bytes().replace(b"\r\n", b"\n"))
    decision = decide("after first provision", box.reading(), expected, CountingReader(box))
    (finding,) = decision.findings
    assert finding.headline == "1 prompt differs: prompts/windows-crlf.md"
    (detail,) = finding.details
    assert "prompts/windows-crlf.md: differs" in detail and "\\r\\n" in detail
    assert "prompts/windows-crlf.md" in decision.diffs


def test_only_a_few_whole_files_are_fetched_to_explain(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    for rel in expected.template.prompts:
        (box.configs / rel).write_bytes(b"changed\n")
    reader = CountingReader(box)
    (finding,) = decide("x", box.reading(), expected, reader).findings
    assert finding.headline.startswith("6 prompts differ: ")
    assert len(reader.reads) == MAX_DIFF_FILES
    assert sum("first difference" in d for d in finding.details) == MAX_DIFF_FILES


def test_a_file_that_cannot_be_fetched_is_said_not_hidden(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    (box.configs / "prompts" / "system.md").write_bytes(b"changed\n")
    (finding,) = decide("x", box.reading(), expected, CountingReader(box, fail=True)).findings
    assert "(could not fetch the actual file: command failed: box went away)" in finding.details[0]


def test_a_missing_configs_directory_is_its_own_finding(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    reading = box.reading()
    reading.configs = Manifest(CONFIGS, {}, root_exists=False)
    headlines = [f.headline for f in decide("x", reading, expected, box).findings]
    assert headlines[0] == "/configs does not exist on the box"


def test_plugin_effects_explain_user_file_changes(tmp_path: Path) -> None:
    """Installing the fixture plugin changes CLAUDE.md, settings.json and adds a command (the
    reference runtime applies them): expected, so no finding."""
    box, expected = delivered(tmp_path)
    files = plugin_files(PLUGINS_FIXTURE / "seo-all")
    assert files is not None
    box.put(f"{CONFIGS}/plugins/seo-all", files)
    apply_plugin_effects(box.configs)
    expected.expect_plugin("seo-all")
    decision = decide("after plugin install", box.reading(), expected, CountingReader(box))
    assert decision.findings == []
    settings = json.loads((box.configs / ".claude" / "settings.json").read_bytes())
    assert settings["model"] == "user-choice" and "permissions" in settings


def test_user_changes_no_plugin_explains_are_findings(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    box.write({f"{CONFIGS}/MEMORY.md": b"# Memory\n- American spelling\n"})
    (box.workspace / "notes" / "meeting notes.md").unlink()
    box.write({f"{WORKSPACE}/new.txt": b"appeared\n"})
    (finding,) = decide("after restart", box.reading(), expected, CountingReader(box)).findings
    assert finding.section == "user/agent"
    assert finding.headline == (
        "user/agent files lost: /workspace/notes/meeting notes.md; "
        "changed: /configs/MEMORY.md; appeared: /workspace/new.txt"
    )
    memory = next(d for d in finding.details if d.startswith("/configs/MEMORY.md"))
    assert "first difference at byte 11 (line 2)" in memory


def test_a_template_default_over_the_users_claude_md_is_named(tmp_path: Path) -> None:
    """The `no-allowlist` fault: the template's own CLAUDE.md delivered over the user's."""
    box, expected = delivered(tmp_path)
    box.write({f"{CONFIGS}/CLAUDE.md": expected.template.files["CLAUDE.md"]})
    (finding,) = decide("after restart", box.reading(), expected, CountingReader(box)).findings
    assert finding.headline == "user/agent files changed: /configs/CLAUDE.md"
    n = len(USER[f"{CONFIGS}/CLAUDE.md"])
    assert finding.details == [
        f"/configs/CLAUDE.md: the user's {n} bytes are not kept at its start"
    ]


def test_settings_changed_without_a_plugin_fragment_is_a_finding(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    box.write({f"{CONFIGS}/.claude/settings.json": b'{"model": "template-default"}\n'})
    (finding,) = decide("x", box.reading(), expected, CountingReader(box)).findings
    assert finding.details == [
        "/configs/.claude/settings.json: changed, and no installed plugin merges settings"
    ]


def test_an_installed_plugin_must_be_on_the_box_byte_for_byte(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    expected.expect_plugin("seo-all")
    (finding,) = decide("x", box.reading(), expected, box).findings
    assert (finding.section, finding.headline) == (
        "plugins",
        "plugin seo-all is installed but /configs/plugins/seo-all/ is empty or missing",
    )
    files = plugin_files(PLUGINS_FIXTURE / "seo-all")
    assert files is not None
    box.put(f"{CONFIGS}/plugins/seo-all", {**files, "SKILL.md": b"tampered\n"})
    (finding,) = decide("x", box.reading(), expected, box).findings
    assert (
        finding.headline == "plugin seo-all differs from its source under /configs/plugins/seo-all/"
    )
    assert finding.details[0].startswith("SKILL.md: differs")


def test_a_plugin_checked_for_presence_only_passes_with_any_bytes(tmp_path: Path) -> None:
    box, expected = delivered(tmp_path)
    expected.expect_plugin("seo-all", byte_exact=False)
    box.put(f"{CONFIGS}/plugins/seo-all", {"SKILL.md": b"the staging copy\n"})
    assert decide("x", box.reading(), expected, box).findings == []


# -- verify.py: channels and the failure message ------------------------------------------------


def test_channels_that_agree_are_no_finding_and_one_channel_is_never_compared(
    tmp_path: Path,
) -> None:
    box, _ = delivered(tmp_path)
    assert channel_findings([box.reading(), box.reading()]) == []
    assert channel_findings([box.reading()]) == []


def test_channels_that_disagree_are_a_finding_of_their_own(tmp_path: Path) -> None:
    box, _ = delivered(tmp_path)
    ssm = box.reading()
    ssm.reader.channel = "ssm"  # type: ignore[union-attr]
    (box.configs / "prompts" / "system.md").write_bytes(b"read differently\n")
    (box.workspace / "README.md").unlink()
    files = box.reading()
    (finding,) = channel_findings([ssm, files])
    assert (finding.section, finding.headline) == (
        "channels",
        "the ssm and files-API readings disagree",
    )
    assert finding.details[0].startswith("/configs/prompts/system.md: differs")
    assert finding.details[1].startswith("/workspace/README.md: missing")


def test_the_failure_message_names_label_box_workspace_sections_and_details(
    tmp_path: Path,
) -> None:
    box, expected = delivered(tmp_path)
    (box.configs / "config.yaml").write_bytes(STUB)
    reading: BoxReading = box.reading()
    decision = decide("after manual restart 1", reading, expected, box)
    verification = Verification(
        "after manual restart 1", IDENTITY, reading, decision.findings, decision.files_checked
    )
    error = VerificationFailed(verification, verification.message("e2e-r1-main-gate-1"))
    lines = str(error).splitlines()
    assert lines[0] == (
        "invariant violated after manual restart 1 on box i-0abc (launched 10:00:00) "
        "of workspace e2e-r1-main-gate-1:"
    )
    assert lines[1] == "  template: config.yaml is the 218-byte stub"
    assert lines[2].startswith("    config.yaml: differs: expected ")
    assert not verification.ok and error.verification is verification


@pytest.mark.parametrize("section", ["template", "user/agent", "plugins", "channels"])
def test_any_finding_fails_the_verification(section: str, tmp_path: Path) -> None:
    from e2e.harness.decide import Finding

    box, _ = delivered(tmp_path)
    verification = Verification("x", IDENTITY, box.reading(), [Finding(section, "h", [])], 1)
    assert not verification.ok
