"""Memory and CPU time of a process tree (the reference stack and every box it runs), read
from /proc."""

from __future__ import annotations

import os
import threading
import time

MIB = 1024


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    return children


def _tree(root_pid: int) -> list[int]:
    children = _children()
    pids, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, []))
    return pids


def tree_cpu_s(root_pid: int) -> float:
    """User + system CPU seconds of the tree: its live processes, and the ended children they
    reaped (cutime, cstime). Two readings apart give what the tree spent in between."""
    ticks = 0
    for pid in _tree(root_pid):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_memory(root_pid: int) -> dict[str, float]:
    """RSS and PSS (MiB) summed over a process and all its descendants; the root's own RSS."""
    pids = _tree(root_pid)
    rss = pss = root_rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        kib = int(line.split()[1])
                        rss += kib
                        root_rss += kib if pid == root_pid else 0
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return {
        "processes": len(pids),
        "rss_mib": rss / MIB,
        "pss_mib": pss / MIB,
        "stack_process_rss_mib": root_rss / MIB,
    }


class PeakMemory:
    """Samples a process tree from a background thread and keeps the peaks; `cpu_s` is what
    the sampling itself cost (reading smaps of a few hundred processes is not free)."""

    def __init__(self, pid: int, every_s: float = 1.0) -> None:
        self.pid = pid
        self.every_s = every_s
        self.peak: dict[str, float] = {
            "rss_mib": 0.0,
            "pss_mib": 0.0,
            "processes": 0,
            "stack_process_rss_mib": 0.0,
        }
        self.samples = 0
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def sample(self) -> None:
        started = time.thread_time()
        now = tree_memory(self.pid)
        self.cpu_s += time.thread_time() - started
        self.samples += 1
        for key in self.peak:
            self.peak[key] = max(self.peak[key], now.get(key, 0.0))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()  # the end state too: the largest tree is often the last
