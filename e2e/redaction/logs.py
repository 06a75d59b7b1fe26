"""Log lines pass the redactor before any handler sees them.

A filter on the root logger alone would miss records of the harness's own loggers
(`e2e.platform`, …): Python applies a logger's filters only to records logged on that logger.
So the same masking runs at record creation too (the record factory), which every logger
uses, and the filter stays on the root logger and its handlers for records made elsewhere
(`logging.makeLogRecord`). A record is only rewritten when it held a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from e2e.redaction.secrets import REGISTRY, Registry

_FORMATTER = logging.Formatter()


def scrub_record(record: logging.LogRecord, registry: Registry = REGISTRY) -> None:
    if not registry.enabled:
        return
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it itself
        return
    masked = registry.redact(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        text = _FORMATTER.formatException(record.exc_info)
        masked = registry.redact(text)
        if masked != text:
            record.exc_text = masked
    if record.stack_info:
        record.stack_info = registry.redact(record.stack_info)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def install() -> None:
    """Idempotent: once per process."""
    old: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if not getattr(old, "e2e_redacting", False):

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = old(*args, **kwargs)
            scrub_record(record)
            return record

        factory.e2e_redacting = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)
    root = logging.getLogger()
    for owner in (root, *root.handlers):
        if not any(isinstance(f, RedactingFilter) for f in owner.filters):
            owner.addFilter(RedactingFilter())
