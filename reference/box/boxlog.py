"""The box's own log (/var/log/molecule-boot.log): boot and agent lines with ms timestamps.

The supervisor's stdout is its protocol pipe to the fleet, so nothing in the box prints there.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from reference.box import layout

_lock = threading.Lock()


def log(component: str, message: str) -> None:
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    line = f"{stamp} {component}: {message}\n"
    path = os.environ.get("MOLECULE_LOG", layout.BOOT_LOG_PATH)
    with _lock:
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line)
        except OSError:
            sys.stderr.write(line)
