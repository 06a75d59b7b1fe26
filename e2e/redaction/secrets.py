"""The one place that knows every secret of a run and masks them in any text.

It learns secrets three ways: from the environment (every variable named like a credential —
E2E_ADMIN_TOKEN, E2E_CP_ADMIN_TOKEN, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, GITHUB_TOKEN, a
tenant token, the values of E2E_SECRETS_FILE), from the harness (`register`: the stack's admin
token, each workspace's `auth_token` from its create answer), and from the text it masks (a
value after `workspace_token`, `auth_token`, `secret`, `password`… or `Bearer`, as user-data,
SSM outputs and box logs show them, is masked there and remembered everywhere after).

What is masked, by length, and why:
- 8 characters and more: wherever it occurs, also URL- or JSON-escaped and base64-encoded, and
  any cut-off piece of 8+ characters at its start or end — a report cut in the middle of a
  token must not leave half of it;
- 4 to 7 characters: only as a whole word. Masking a short value inside other words would
  rewrite ids, paths and numbers all over a report (and hide the failure it explains); a
  secret that short is embedded in a longer token nowhere we could tell apart anyway;
- shorter: never (any report would be mangled, and such a value protects nothing); said once.

`E2E_REDACT=0` turns masking off, for the test that proves the canaries would leak without it;
it is refused (masking stays on) when `E2E_TARGET=staging`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("e2e.redaction")

MASK = "***"
MIN_WORD = 4
MIN_ANYWHERE = 8
FRAGMENT = 8
SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_KEY|API_KEY", re.IGNORECASE
)
NOT_A_VALUE = re.compile(r"_(FILE|PATH|DIR|URL|ARN|ID|NAME|TYPE|REGION)$", re.IGNORECASE)
PLAIN_WORDS = {"true", "false", "yes", "no", "none", "null"}
KEYED = re.compile(
    r"""(?ix)
    ["']?[a-z0-9_.-]{0,40}(?:token|secret|password|passwd|api[_-]?key|private[_-]?key|credential)s?
    ["']?\s*[:=]\s*["']?
    (?P<value>[A-Za-z0-9._~+/=-]{12,})"""
)
BEARER = re.compile(r"(?i)\b(?:bearer|basic)\s+(?P<value>[A-Za-z0-9._~+/=-]{12,})")
_WORD = "A-Za-z0-9"


def _variants(value: str) -> set[str]:
    """How a secret may appear besides itself: URL- and JSON-escaped, base64 at 3 offsets."""
    found = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
    raw = value.encode()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        middle = encoded[4 if pad else 0 : -4]  # chunks that mix in neighbours change
        if len(middle) >= 12:
            found.add(middle)
    return found


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._long: set[str] = set()  # raw values, 8+
        self._patterns: set[str] = set()  # every variant of the long ones
        self._short: set[str] = set()
        self._word_re: re.Pattern[str] | None = None
        self._warned: set[str] = set()
        self.enabled = True

    # -- learning --------------------------------------------------------------------------
    def register(self, *values: str | None, source: str = "") -> None:
        for value in values:
            if not isinstance(value, str) or not value.strip() or value.strip() == MASK:
                continue
            for v in {value, value.strip()}:
                self._add(v, source)

    def _add(self, value: str, source: str) -> None:
        if value.lower() in PLAIN_WORDS and source:
            return  # a switch's value (E2E_SOMETHING_TOKEN=true), not a secret
        with self._lock:
            if len(value) >= MIN_ANYWHERE:
                if value not in self._long:
                    self._long.add(value)
                    self._patterns |= _variants(value)
            elif len(value) >= MIN_WORD:
                self._short.add(value)
                alternation = "|".join(sorted(map(re.escape, self._short), key=len, reverse=True))
                self._word_re = re.compile(rf"(?<![{_WORD}])(?:{alternation})(?![{_WORD}])")
            elif source not in self._warned:
                self._warned.add(source)
                log.warning("%s is shorter than %d characters: not masked", source, MIN_WORD)

    def register_env(self, env: Mapping[str, str]) -> None:
        for name, value in env.items():
            if SECRET_NAME.search(name) and not NOT_A_VALUE.search(name):
                self.register(value, source=name)
        self.register(*_secrets_file(env.get("E2E_SECRETS_FILE", "")), source="E2E_SECRETS_FILE")

    def configure(self, env: Mapping[str, str]) -> None:
        """The on/off switch (tests of the redactor only; never on staging)."""
        off = env.get("E2E_REDACT") == "0"
        if off and env.get("E2E_TARGET") == "staging":
            print("E2E_REDACT=0 refused on staging: secrets stay masked", file=sys.stderr)
            off = False
        elif off and self.enabled:
            print("E2E_REDACT=0: secrets are NOT masked (a redactor test)", file=sys.stderr)
        self.enabled = not off

    # -- masking ---------------------------------------------------------------------------
    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets (and their pieces) are in `text`, merged, in order."""
        if not self.enabled or not text:
            return []
        for keyed in (KEYED, BEARER):  # learn what the text itself calls a secret
            for match in keyed.finditer(text):
                if any(c.isdigit() for c in match["value"]):
                    self.register(match["value"].rstrip("=") or match["value"])
        with self._lock:
            patterns, longs, word_re = tuple(self._patterns), tuple(self._long), self._word_re
        found: list[tuple[int, int]] = []
        for pattern in patterns:
            start = text.find(pattern)
            while start >= 0:
                found.append((start, start + len(pattern)))
                start = text.find(pattern, start + 1)
        for value in longs:
            found += _pieces(text, value)
        if word_re is not None:
            found += [m.span() for m in word_re.finditer(text)]
        return _merge(found)

    def redact(self, text: str) -> str:
        spans = self.spans(text)
        if not spans:
            return text
        out, at = [], 0
        for start, end in spans:
            out += [text[at:start], MASK]
            at = end
        out.append(text[at:])
        return "".join(out)

    def mask_same_length(self, text: str) -> tuple[str, list[tuple[int, int]]]:
        """`*` over every secret, keeping every offset (for files rewritten in place)."""
        spans = self.spans(text)
        chars = list(text)
        for start, end in spans:
            chars[start:end] = "*" * (end - start)
        return "".join(chars), spans

    def contains(self, text: str) -> bool:
        return bool(self.spans(text))


def _pieces(text: str, value: str) -> list[tuple[int, int]]:
    """Runs of 8+ characters that are the start or the end of `value`: what a cut leaves."""
    found = []
    head, tail = value[:FRAGMENT], value[-FRAGMENT:]
    at = text.find(head)
    while at >= 0:
        n = FRAGMENT
        while n < len(value) and at + n < len(text) and text[at + n] == value[n]:
            n += 1
        found.append((at, at + n))
        at = text.find(head, at + 1)
    at = text.find(tail)
    while at >= 0:
        start, n = at, FRAGMENT
        while n < len(value) and start > 0 and text[start - 1] == value[-n - 1]:
            start, n = start - 1, n + 1
        found.append((start, at + FRAGMENT))
        at = text.find(tail, at + 1)
    return found


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _secrets_file(path: str) -> list[str]:
    """Values of E2E_SECRETS_FILE (a JSON object); unreadable is the settings' error, not ours."""
    try:
        data = json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError):
        return []
    return [v for v in data.values() if isinstance(v, str)] if isinstance(data, dict) else []


REGISTRY = Registry()
REGISTRY.configure(os.environ)  # the switch holds for every process, plugin or not
