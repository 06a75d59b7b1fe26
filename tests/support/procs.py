"""Host process lookups for the no-orphans tests (reads /proc; Linux only, like the boxes)."""

from __future__ import annotations

import os


def processes_mentioning(text: str) -> list[str]:
    """Live (non-zombie) processes other than this one whose command line contains `text`,
    as `pid: cmdline` lines that say what was left behind."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(f"{entry}: {cmdline[:160]}")
    return found


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat fields after the command name (state first), None once gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_ticks(pid: int) -> str | None:
    """When the process started (clock ticks), None once it is gone or a zombie: with the pid
    it names one process even if the pid is reused."""
    fields = _stat(pid)
    return None if fields is None or fields[0] in ("Z", "X") else fields[19]


def descendants(root: int) -> dict[int, str]:
    """Every live process below `root` (children, theirs, ...), as pid → start ticks."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields is not None and fields[0] not in ("Z", "X"):
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        ticks = start_ticks(pid)
        if ticks is not None:
            found[pid] = ticks
            todo += children.get(pid, [])
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def processes_marked(marker: str) -> list[str]:
    """Live processes whose command line or environment contains `marker`, as `pid: cmdline`."""
    needle = marker.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid() or start_ticks(int(entry)) is None:
            continue
        text = b""
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry}/{part}", "rb") as handle:
                    text += handle.read()
            except OSError:
                continue
        if needle in text:
            found.append(f"{entry}: {cmdline(int(entry))[:160]}")
    return found
