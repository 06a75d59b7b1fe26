"""SSM Run Command's output limits, as on AWS: what the box keeps and the AWS endpoint answers.

The one module of `reference/box` the AWS side imports (stdlib only, like all of the box).
"""

from __future__ import annotations

# SSM output limits, as on AWS.
OUTPUT_CAP_CHARS = 24_000
LIST_OUTPUT_CAP_CHARS = 2_500
# Bytes kept per stream in the box: enough for OUTPUT_CAP_CHARS of 4-byte UTF-8.
OUTPUT_CAP_BYTES = OUTPUT_CAP_CHARS * 4


def cap_text(raw: bytes, chars: int = OUTPUT_CAP_CHARS) -> str:
    """Decode captured output and keep the first `chars` characters, like SSM does."""
    return raw.decode("utf-8", errors="replace")[:chars]
