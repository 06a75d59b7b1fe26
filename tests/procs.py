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
