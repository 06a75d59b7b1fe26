"""Masking applied to structures (pytest reports, Allure results) and to files on disk.

Structures are rewritten in place, every string inside them; a structure that still renders a
secret afterwards (a type this walk does not know) is replaced by its masked text. Files are
masked in place with `*` of the same length, written at the secrets' offsets only: a stack
still appending to its log loses nothing, and nothing else in the file moves.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from e2e.redaction.secrets import REGISTRY, Registry


def deep(obj: Any, registry: Registry = REGISTRY, _seen: set[int] | None = None) -> Any:
    """`obj` with every string in it masked (mutable containers and objects in place)."""
    seen = set() if _seen is None else _seen
    if isinstance(obj, str):
        return registry.redact(obj)
    if obj is None or isinstance(obj, int | float | bytes) or id(obj) in seen:
        return obj
    seen.add(id(obj))
    if isinstance(obj, list):
        obj[:] = [deep(x, registry, seen) for x in obj]
    elif isinstance(obj, dict):
        for key in list(obj):
            obj[key] = deep(obj[key], registry, seen)
    elif isinstance(obj, tuple):
        items = [deep(x, registry, seen) for x in obj]
        return tuple(items) if type(obj) is tuple else type(obj)(*items)
    else:
        for name in _fields(obj):
            try:
                value = getattr(obj, name)
            except AttributeError:
                continue
            masked = deep(value, registry, seen)
            if masked is not value:
                object.__setattr__(obj, name, masked)
    return obj


def _fields(obj: Any) -> Iterable[str]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [f.name for f in dataclasses.fields(obj)]
    attrs_fields = getattr(type(obj), "__attrs_attrs__", None)
    if attrs_fields is not None:  # Allure's model (attrs classes)
        return [a.name for a in attrs_fields]
    return []


def report(rep: Any, registry: Registry = REGISTRY) -> None:
    """A pytest TestReport/CollectReport: failure text, captured output and logs, properties."""
    if not registry.enabled:
        return
    longrepr = getattr(rep, "longrepr", None)
    if longrepr is not None:
        longrepr = deep(longrepr, registry)
        if not isinstance(longrepr, str | tuple) and registry.contains(str(longrepr)):
            longrepr = registry.redact(str(longrepr))  # a repr type the walk missed
        rep.longrepr = longrepr
    rep.sections = [(registry.redact(t), registry.redact(c)) for t, c in rep.sections]
    props = getattr(rep, "user_properties", None)
    if props:
        rep.user_properties = [(k, _value(v, registry)) for k, v in props]
    if isinstance(getattr(rep, "wasxfail", None), str):
        rep.wasxfail = registry.redact(rep.wasxfail)


def _value(value: Any, registry: Registry) -> Any:
    if isinstance(value, str):
        return registry.redact(value)
    return registry.redact(str(value)) if registry.contains(str(value)) else value


def file(path: Path, registry: Registry = REGISTRY) -> int:
    """Mask secrets in one file in place (same length); returns how many were found."""
    if not registry.enabled:
        return 0
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    text = data.decode("latin-1")  # one character per byte: offsets are byte offsets
    _, spans = registry.mask_same_length(text)
    if not spans:
        return 0
    fd = os.open(path, os.O_WRONLY)
    try:
        for start, end in spans:
            os.pwrite(fd, b"*" * (end - start), start)
    finally:
        os.close(fd)
    return len(spans)


def tree(roots: Iterable[Path], since: float = 0.0, registry: Registry = REGISTRY) -> int:
    """Every file under `roots` changed at or after `since` (epoch seconds)."""
    found = 0
    for root in roots:
        if root.is_file():
            candidates: Iterable[Path] = [root]
        elif root.is_dir():
            candidates = (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        else:
            continue
        for path in candidates:
            try:
                recent = path.stat().st_mtime >= since
            except OSError:
                continue
            if recent:
                found += file(path, registry)
    return found
