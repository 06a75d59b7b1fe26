"""What a measurement ran on: the figures mean little without the load next to them."""

from __future__ import annotations

import os
import platform
from typing import Any


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),  # call it when the run starts
    }


def load_at_start(m: dict[str, Any]) -> Any:
    """The 1-minute load a run began at (older records named it `loadavg_1m`)."""
    return m.get("loadavg_1m_at_start", m.get("loadavg_1m", "?"))


def describe(m: dict[str, Any]) -> str:
    cpus, python = m.get("cpus", "?"), m.get("python", "?")
    return f"{cpus} CPUs, load {load_at_start(m)} at start, Python {python}"
