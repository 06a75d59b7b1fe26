"""verify.py: a reading counts only when two equal observations of the box's identity bracket
it. Runs verify_box unchanged against the scripted world (support.world) whose SSM really runs
the harness's bash on a local box directory (support.fake_ssm)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.world import World, online

from e2e.harness import verify as verify_module
from e2e.harness.events import ONLINE, PROVISIONING
from e2e.harness.fixture import Expected, TemplateFixture
from e2e.harness.identity import BoxIdentity
from e2e.harness.settings import TEMPLATE_FIXTURE
from e2e.harness.ssm import SsmError
from e2e.harness.verify import VerificationFailed, verify_box
from e2e.harness.waits import WaitTimeout
from e2e.harness.workspace import Workspace

FIXTURE = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
STUB = b"# built-in stub\nname: stub\n" + b"#" * 191


def world_with_box(tmp_path: Path, *boxes: str, files: dict[str, bytes] | None = None) -> World:
    """Steps: one per box id (each registered), the last one staying; the box directory
    holds `files` (default: the delivered template)."""
    steps = [online(box, PROVISIONING, ONLINE) for box in boxes]
    world = World(steps, box_root=tmp_path / "box")
    for rel, data in (FIXTURE.owned if files is None else files).items():
        path = tmp_path / "box" / "configs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return world


def test_a_faithful_box_verifies_and_is_counted(tmp_path: Path) -> None:
    world = world_with_box(tmp_path, "i-1")
    ws = world.workspace()
    verification = verify_box(ws, Expected(FIXTURE), "after first provision")
    assert verification.ok and verification.identity.instance_id == "i-1"
    assert verification.files_checked == len(FIXTURE.owned)
    assert ws.stats.verifications == 1 and ws.stats.files_checked == len(FIXTURE.owned)


def test_a_restart_that_slips_into_the_reading_sends_it_to_the_new_box(tmp_path: Path) -> None:
    world = world_with_box(tmp_path, "i-1", "i-2")
    verification = verify_box(world.workspace(), Expected(FIXTURE), "after restart")
    assert verification.identity.instance_id == "i-2" and verification.ok


def test_the_historical_bug_is_diagnosed_in_words(tmp_path: Path) -> None:
    world = world_with_box(tmp_path, "i-1", files={"config.yaml": STUB})
    ws = world.workspace()
    with pytest.raises(VerificationFailed) as info:
        verify_box(ws, Expected(FIXTURE), "after manual restart 1")
    text = str(info.value)
    assert text.startswith("invariant violated after manual restart 1 on box i-1 (launched ")
    assert "template: config.yaml is the 218-byte stub; prompts missing (6 of 6)" in text
    assert "first difference at byte 2 (line 1)" in text and "# built-in stub" in text
    assert ws.stats.verifications == 1


def test_a_read_error_on_a_box_that_stayed_is_raised_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = world_with_box(tmp_path, "i-1")
    reads: list[str] = []

    def read_box(ws: Workspace, identity: BoxIdentity) -> Any:
        reads.append(identity.instance_id)
        raise SsmError("command failed: disk full")

    monkeypatch.setattr(verify_module, "read_box", read_box)
    with pytest.raises(SsmError, match="disk full"):
        verify_box(world.workspace(), Expected(FIXTURE), "x")
    assert reads == ["i-1"]


def test_a_wait_timeout_on_a_replaced_box_re_brackets_onto_the_new_box(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen at 50 workspaces: SSM never came Online for a box replaced meanwhile; the wait's
    timeout must lead to the identity check (and the new box), not fail the gate."""
    world = world_with_box(tmp_path, "i-1", "i-2")
    real_read_box = verify_module.read_box

    def read_box(ws: Workspace, identity: BoxIdentity) -> Any:
        if identity.instance_id == "i-1":
            raise WaitTimeout("SSM PingStatus Online for i-1: last PingStatus=ConnectionLost")
        return real_read_box(ws, identity)

    monkeypatch.setattr(verify_module, "read_box", read_box)
    verification = verify_box(world.workspace(), Expected(FIXTURE), "after x")
    assert verification.identity.instance_id == "i-2" and verification.ok


def test_a_box_that_changes_during_every_reading_is_not_verified(tmp_path: Path) -> None:
    world = world_with_box(tmp_path, "i-1", "i-2", "i-3", "i-4", "i-5", "i-6", "i-7")
    with pytest.raises(AssertionError, match=r"the box changed during each of 3 readings") as info:
        verify_box(world.workspace(), Expected(FIXTURE), "after x")
    assert "attempt 1: i-1 (launched" in str(info.value)
