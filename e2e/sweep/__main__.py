"""`python -m e2e.sweep`: SIGTERM (a CI cancel) ends it like Ctrl-C, so the summary is written."""

from __future__ import annotations

import logging
import signal
import sys

from e2e.sweep.cli import main


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(main())
