"""The bubblewrap command line that turns a few directories into a box.

The box's `/` is a fresh per-instance directory (so every path except the volume starts empty
on a new instance); the OS (`/usr`) and our code are bound read-only. A data volume, when one
is attached, appears in one of two ways: `data` (saas) binds the volume's directory at
`/mnt/molecule-data`, while `/configs` and `/workspace` stay plain directories of the fresh
root; `configs` (docker backend) binds the volume's `configs/` and `workspace/` at `/configs`
and `/workspace`, a persistent config volume. Nothing else of the host is visible.
"""

from __future__ import annotations

import site
from dataclasses import dataclass
from pathlib import Path

from reference.box import layout

BWRAP = "/usr/bin/bwrap"
REFERENCE_PKG = Path(__file__).resolve().parent.parent  # .../reference
ETC_FILES = {
    "passwd": (
        "root:x:0:0:root:/root:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    ),
    "group": "root:x:0:\nnogroup:x:65534:\n",
    "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    "hostname": "box\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
}


def venv_site_packages() -> Path:
    """The site-packages with boto3 and yaml, bound read-only for the boot step and agent."""
    for candidate in site.getsitepackages():
        if (Path(candidate) / "boto3").is_dir():
            return Path(candidate)
    raise RuntimeError("boto3 is not installed in this interpreter's site-packages")


@dataclass(frozen=True)
class BoxDirs:
    """Host directories backing one box."""

    root: Path  # fresh per instance: becomes the box's `/`
    volume: Path | None  # per data volume
    run: Path  # per instance, read-only in the box: user-data and instance.json
    volume_mode: str = "data"  # "data": at /mnt/molecule-data; "configs": /configs, /workspace

    def prepare(self) -> None:
        """Create the directories and the few /etc files a shell expects."""
        subs = ("etc", "root", "tmp", "home", "var/log", "var/tmp", "opt", "run")
        for sub in (*subs, "configs", "workspace", layout.DATA_MOUNT.lstrip("/")):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").chmod(0o1777)
        for name, text in ETC_FILES.items():
            (self.root / "etc" / name).write_text(text)
        self.run.mkdir(parents=True, exist_ok=True)
        if self.volume is not None:
            self.volume.mkdir(parents=True, exist_ok=True)
            if self.volume_mode == "configs":
                (self.volume / "configs").mkdir(exist_ok=True)
                (self.volume / "workspace").mkdir(exist_ok=True)


def bwrap_argv(dirs: BoxDirs, command: list[str], site_packages: Path) -> list[str]:
    """Build the bubblewrap argv running `command` inside the box."""
    argv = [
        BWRAP,
        "--unshare-all",
        "--share-net",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--cap-drop",
        "ALL",
        "--bind",
        str(dirs.root),
        "/",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/sbin",
        "/sbin",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--ro-bind-try",
        "/etc/alternatives",
        "/etc/alternatives",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/dev/shm",
        "--ro-bind",
        str(dirs.run),
        layout.RUN_DIR,
        "--ro-bind",
        str(REFERENCE_PKG / "__init__.py"),
        layout.CODE_DIR + "/reference/__init__.py",
        "--ro-bind",
        str(REFERENCE_PKG / "box"),
        layout.CODE_DIR + "/reference/box",
        "--ro-bind",
        str(site_packages),
        layout.SITE_DIR,
    ]
    if dirs.volume is not None and dirs.volume_mode == "configs":
        argv += ["--bind", str(dirs.volume / "configs"), layout.CONFIGS_DIR]
        argv += ["--bind", str(dirs.volume / "workspace"), layout.WORKSPACE_DIR]
    elif dirs.volume is not None:
        argv += ["--bind", str(dirs.volume), layout.DATA_MOUNT]
    argv += [
        "--setenv",
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--setenv",
        "HOME",
        "/root",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "PYTHONPATH",
        layout.CODE_DIR,
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
        "--chdir",
        "/",
        "--",
        *command,
    ]
    return argv


def supervisor_command(boot: bool = True) -> list[str]:
    """The in-box init the fleet talks to."""
    cmd = [layout.PYTHON, "-S", "-m", "reference.box.supervisor"]
    return cmd if boot else [*cmd, "--no-boot"]
