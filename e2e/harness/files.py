"""Whole files over SSM, in both directions, always base64 and always chunked.

Reading is on demand only (to show a diff): base64 chunks that stay under the output cap, each
ending with `END <file size>`, so a truncated chunk is detected. Writing (seeding user files)
ships base64 in the script itself, so no quoting problem can alter the bytes, and renames into
place so a half-written file is never observed.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import secrets
import shlex
from collections.abc import Mapping

from e2e.harness.manifest import Runner

READ_CHUNK_BYTES = 15_000  # → 20,000 base64 chars per page
WRITE_CHUNK_BYTES = 12_000  # one base64 line of 16,000 chars
WRITE_SCRIPT_CHARS = 16_000  # base64 per command: keeps each script comfortably small


class FileReadError(AssertionError):
    pass


def read_file(host: Runner, path: str, *, max_bytes: int = 1_000_000) -> bytes | None:
    """The file's bytes, or None if it does not exist. Refuses files above `max_bytes`."""
    data = b""
    size: int | None = None
    while size is None or len(data) < size:
        offset = len(data)
        script = (
            f"f={shlex.quote(path)}\n"
            'if [ ! -f "$f" ]; then echo NOFILE; exit 0; fi\n'
            'size=$(stat -c %s -- "$f")\n'
            f'tail -c +{offset + 1} -- "$f" | head -c {READ_CHUNK_BYTES} | base64 -w0\n'
            'echo; echo "END $size"'
        )
        lines = host.run(script).stdout.splitlines()
        if lines[:1] == ["NOFILE"]:
            if offset:
                raise FileReadError(f"{path} disappeared while being read")
            return None
        if len(lines) != 2 or not lines[1].startswith("END "):
            raise FileReadError(f"reading {path} at {offset}: truncated or malformed output")
        size_now = int(lines[1].split()[1])
        if size is not None and size_now != size:
            raise FileReadError(f"{path} changed size while being read ({size} → {size_now})")
        size = size_now
        if size > max_bytes:
            raise FileReadError(f"{path} is {size} bytes, above the {max_bytes}-byte read limit")
        try:
            chunk = base64.b64decode(lines[0], validate=True)
        except binascii.Error as exc:
            raise FileReadError(f"reading {path} at {offset}: bad base64 ({exc})") from None
        if len(chunk) != min(READ_CHUNK_BYTES, size - offset):
            raise FileReadError(f"reading {path} at {offset}: got {len(chunk)} bytes")
        data += chunk
    return data


def write_files(host: Runner, root: str, files: Mapping[str, bytes]) -> None:
    """Write files under `root` (mkdir -p, chunked base64, atomic rename)."""
    batch: list[str] = []
    batch_size = 0

    def flush() -> None:
        nonlocal batch, batch_size
        if batch:
            host.run("set -e\numask 022\n" + "\n".join(batch))
        batch, batch_size = [], 0

    for rel, data in sorted(files.items()):
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"refusing to write outside {root}: {rel!r}")
        dest = posixpath.join(root, rel)
        tmp = f"{dest}.e2e-tmp-{secrets.token_hex(4)}"  # unique: never shared by two commands
        chunks = [data[i : i + WRITE_CHUNK_BYTES] for i in range(0, len(data), WRITE_CHUNK_BYTES)]
        lines = [f"mkdir -p -- {shlex.quote(posixpath.dirname(dest))}", f": > {shlex.quote(tmp)}"]
        for chunk in chunks or [b""]:
            b64 = base64.b64encode(chunk).decode()
            if batch_size and batch_size + len(b64) > WRITE_SCRIPT_CHARS:
                batch.extend(lines)
                lines = []
                flush()
            lines.append(f"printf %s {b64 or chr(39) * 2} | base64 -d >> {shlex.quote(tmp)}")
            batch_size += len(b64)
        lines.append(f"mv -f -- {shlex.quote(tmp)} {shlex.quote(dest)}")
        batch.extend(lines)
    flush()
