"""A box sees only its own files, cannot write the host's, and cannot see other boxes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reference.fleet.sandbox import BoxDirs, bwrap_argv, supervisor_command

REPO = Path(__file__).resolve().parent.parent
# What a box's `/` holds: the read-only OS, our code, its volume, and its own empty dirs.
BOX_ROOT_ENTRIES = {
    "bin", "configs", "dev", "etc", "home", "lib", "lib64", "mnt", "opt", "proc", "root", "run",
    "sbin", "tmp", "usr", "var", "workspace", "newdir",
}  # fmt: skip


@pytest.fixture(scope="module")
def two_boxes(make_workspaces: Callable[[], Any]) -> Iterator[tuple[Any, list[str], list[str]]]:
    spaces = make_workspaces()
    ids, volumes = [], []
    for _ in range(2):
        ws = spaces.new_id()
        spaces.put_config(ws, {"config.yaml": f"name: {ws}\n"})
        volumes.append(spaces.new_volume(ws))
        ids.append(spaces.launch(ws, volumes[-1]))
    for iid in ids:
        spaces.wait_online(iid)
    yield spaces, ids, volumes
    spaces.terminate_all()


def sh(spaces: Any, iid: str, script: str) -> dict[str, Any]:
    return dict(spaces.run(iid, script))


def test_host_files_are_invisible(two_boxes: tuple[Any, list[str], list[str]]) -> None:
    spaces, (iid, _), _ = two_boxes
    top = sh(spaces, iid, "ls -A /")["StandardOutputContent"].split()
    assert set(top) <= BOX_ROOT_ENTRIES, set(top) - BOX_ROOT_ENTRIES
    out = sh(spaces, iid, f"ls {REPO} /container_info.json 2>&1; cat /etc/passwd")
    assert out["StandardOutputContent"].count("No such file or directory") == 2, out
    assert out["StandardOutputContent"].endswith(
        "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )


def test_read_only_paths_stay_untouched(two_boxes: tuple[Any, list[str], list[str]]) -> None:
    spaces, (iid, _), _ = two_boxes
    targets = [
        "/usr/box-was-here",
        "/opt/molecule/reference/box/box-was-here",
        "/opt/molecule-site/box-was-here",
        "/run/molecule/box-was-here",
    ]
    out = sh(spaces, iid, " ; ".join(f"touch {t} 2>&1 || echo refused {t}" for t in targets))
    for target in targets:
        assert f"refused {target}" in out["StandardOutputContent"], out
    assert not (REPO / "reference/box/box-was-here").exists()
    assert not Path("/usr/box-was-here").exists()


def test_no_capabilities_and_no_host_processes(two_boxes: tuple[Any, list[str], list[str]]) -> None:
    spaces, (iid, _), _ = two_boxes
    out = sh(spaces, iid, "grep CapEff /proc/self/status; ps -e -o comm=")["StandardOutputContent"]
    assert "CapEff:\t0000000000000000" in out
    assert "pytest" not in out and "systemd" not in out


def test_writes_land_in_the_boxs_own_directories(
    two_boxes: tuple[Any, list[str], list[str]], aws_stack: Any
) -> None:
    spaces, (iid, _), (volume, _) = two_boxes
    sh(
        spaces,
        iid,
        "mkdir -p /newdir && echo a > /newdir/f && echo b > /tmp/f && echo c > /workspace/f"
        " && echo d > /configs/f && echo e > /mnt/molecule-data/f",
    )
    root = Path(aws_stack.config.state_dir) / "instances" / iid / "root"
    assert (root / "newdir/f").read_text() == "a\n"
    assert (root / "tmp/f").read_text() == "b\n"
    # saas: /configs and /workspace belong to the instance; only the data mount is the volume
    assert (root / "workspace/f").read_text() == "c\n"
    assert (root / "configs/f").read_text() == "d\n"
    assert sorted(p.name for p in spaces.volume_dir(volume).iterdir()) == ["f"]
    assert (spaces.volume_dir(volume) / "f").read_text() == "e\n"


def test_boxes_do_not_see_each_other(two_boxes: tuple[Any, list[str], list[str]]) -> None:
    spaces, (first, second), _ = two_boxes
    sh(spaces, first, "echo first > /tmp/only-first; echo first > /configs/only-first")
    out = sh(spaces, second, "ls /tmp /configs; ps -e -o args=")["StandardOutputContent"]
    assert "only-first" not in out
    assert out.count("reference.box.supervisor") == 2  # bwrap's cmdline and its own


def test_sandbox_command_line_keeps_the_isolation_flags(tmp_path: Path) -> None:
    dirs = BoxDirs(root=tmp_path / "root", volume=None, run=tmp_path / "run")
    argv = bwrap_argv(dirs, supervisor_command(), tmp_path)
    for flag in ("--unshare-all", "--die-with-parent", "--clearenv", "--new-session"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert ["--bind", str(dirs.root), "/"] == argv[argv.index(str(dirs.root)) - 1 :][:3]
    assert "/configs" not in argv  # no volume: /configs is the fresh root's own directory


def binds(argv: list[str]) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == "--bind"]


def test_a_volume_is_the_data_mount_on_saas_and_the_configs_on_docker(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    saas = BoxDirs(root=tmp_path / "root", volume=volume, run=tmp_path / "run")
    assert binds(bwrap_argv(saas, supervisor_command(), tmp_path))[1:] == [
        (str(volume), "/mnt/molecule-data")
    ]
    docker = BoxDirs(tmp_path / "root", volume, tmp_path / "run", volume_mode="configs")
    assert binds(bwrap_argv(docker, supervisor_command(), tmp_path))[1:] == [
        (str(volume / "configs"), "/configs"),
        (str(volume / "workspace"), "/workspace"),
    ]


def test_a_persisting_box_waits_for_a_late_attach_and_volume_dir_goes_with_the_volume(
    workspaces: Any,
) -> None:
    ws = workspaces.new_id()
    workspaces.put_config(ws, {"config.yaml": "name: late\n"})
    volume = workspaces.new_volume(ws)
    iid = workspaces.launch(ws, volume, attach=False)
    # the fleet has seen the running instance and waits for its volume instead of booting
    fleet = workspaces.stack.fleet
    workspaces.wait_until(
        "fleet waiting for the volume",
        lambda: (iid in fleet._first_seen, iid in fleet.boxes),
        lambda seen: seen == (True, False),
    )
    workspaces.ec2.attach_volume(VolumeId=volume, InstanceId=iid, Device="/dev/sdf")
    workspaces.registered(ws, iid)
    assert workspaces.registry.of("boot-failed", ws) == []
    workspaces.end(iid)
    snapshot = workspaces.volume_dir(volume) / "snapshot"
    workspaces.wait_until(
        "snapshot on the volume", lambda: (snapshot / "source-instance").exists(), bool
    )
    assert (snapshot / "configs/config.yaml").read_text() == "name: late\n"
    workspaces.ec2.delete_volume(VolumeId=volume)
    workspaces.wait_until(
        "volume dir removed", lambda: workspaces.volume_dir(volume).exists(), lambda e: not e
    )


def test_a_box_that_does_not_persist_starts_at_once_without_a_volume(
    workspaces: Any, aws_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws_stack.fleet.settings, "volume_grace_s", 60.0)
    ws = workspaces.new_id()
    workspaces.put_config(ws, {"config.yaml": "name: quick\n"})
    iid = workspaces.launch(ws, persistence="ephemeral")
    workspaces.registered(ws, iid)  # well within the 60 s a persisting box would wait
    assert workspaces.registry.of("boot-failed", ws) == []
