"""File-tree manifests (path, size, sha256, type): computed locally or read from a box over SSM.

Reading a tree over SSM must stay correct under the 24,000-character stdout cap. So the box
sends hashes, never contents; it sends them in pages that fit a character budget; and every page
ends with `END <entries> <next-offset> <total> <done|more>`. A page that lost its END line, or
whose counts disagree with what arrived, is an error — a capped output can never pass as a
smaller tree. The tree's sorted path list is re-read per page; if its total changes between pages
the read fails too (it raced a restart or a writer).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from e2e.harness.report import redact
from e2e.harness.ssm import CommandResult

PAGE_BUDGET_CHARS = 20_000  # well below the 24,000 cap, even with the END line
PAGE_MAX_ENTRIES = 300  # bounds the hashing work per command
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._/@+%=,:~ -]+$")


class Runner(Protocol):
    def run(
        self, script: str, *, check: bool = True, timeout_s: float | None = None
    ) -> CommandResult: ...


class ManifestError(AssertionError):
    """A manifest could not be read faithfully (truncated, inconsistent, or the command failed)."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the manifest's root, posix
    size: int  # bytes (for a symlink: length of its target)
    sha256: str  # of the content (for a symlink: of its target string)
    type: str = "file"  # file | symlink

    def short(self) -> str:
        kind = "" if self.type == "file" else f" {self.type}"
        return f"{self.size} bytes sha256 {self.sha256[:12]}…{kind}"


@dataclass
class Manifest:
    root: str
    entries: dict[str, Entry] = field(default_factory=dict)
    root_exists: bool = True

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, path: object) -> bool:
        return path in self.entries

    def paths(self) -> list[str]:
        return sorted(self.entries)

    def select(self, keep: Iterable[str] | None = None, *, predicate: object = None) -> Manifest:
        """A sub-manifest: the given paths, or the paths the predicate accepts."""
        if keep is not None:
            wanted = set(keep)
            chosen = {p: e for p, e in self.entries.items() if p in wanted}
        else:
            assert callable(predicate)
            chosen = {p: e for p, e in self.entries.items() if predicate(p)}
        return Manifest(self.root, chosen, self.root_exists)

    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries.values())

    def to_json(self) -> dict[str, object]:
        return {
            "root": self.root,
            "root_exists": self.root_exists,
            "files": {
                p: {"size": e.size, "sha256": e.sha256, "type": e.type}
                for p, e in sorted(self.entries.items())
            },
        }

    def render(self) -> str:
        if not self.root_exists:
            return f"{self.root}: (directory does not exist)"
        lines = [f"{self.root}: {len(self)} entries, {self.total_bytes()} bytes"]
        lines += [
            f"  {e.sha256}  {e.size:>8}  {e.type:<7}  {p}" for p, e in sorted(self.entries.items())
        ]
        return "\n".join(lines)


# -- local side ---------------------------------------------------------------------------------


def entry_for_bytes(path: str, data: bytes) -> Entry:
    return Entry(path, len(data), hashlib.sha256(data).hexdigest(), "file")


def manifest_of_bytes(root: str, files: Mapping[str, bytes]) -> Manifest:
    return Manifest(root, {p: entry_for_bytes(p, b) for p, b in files.items()})


def manifest_of_dir(directory: Path, root: str | None = None) -> Manifest:
    """Manifest of a local directory (files and symlinks, like the box side)."""
    entries: dict[str, Entry] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink():
            target = str(path.readlink()).encode()
            entries[rel] = Entry(rel, len(target), hashlib.sha256(target).hexdigest(), "symlink")
        elif path.is_file():
            entries[rel] = entry_for_bytes(rel, path.read_bytes())
    return Manifest(root or str(directory), entries)


# -- box side -----------------------------------------------------------------------------------

# bash (arrays, mapfile, process substitution): the shebang makes AWS-RunShellScript's
# `sh -c _script.sh` run it under bash instead of dash
_PAGE_SCRIPT = r"""#!/bin/bash
export LC_ALL=C
root=__ROOT__; offset=__OFFSET__; limit=__LIMIT__; budget=__BUDGET__
if [ ! -d "$root" ]; then echo "NOROOT"; echo "END 0 0 0 done"; exit 0; fi
cd "$root" || exit 3
mapfile -d '' -t all < <(find . -mindepth 1 \( -type f -o -type l \) -print0 | sort -z)
total=${#all[@]}
page=("${all[@]:offset:limit}")
files=()
for p in "${page[@]}"; do [ -L "$p" ] || files+=("$p"); done
hashes=(); sizes=()
if [ ${#files[@]} -gt 0 ]; then
  mapfile -t hashes < <(sha256sum -- "${files[@]}") || exit 4
  mapfile -t sizes < <(stat -c %s -- "${files[@]}") || exit 4
  [ ${#hashes[@]} -eq ${#files[@]} ] && [ ${#sizes[@]} -eq ${#files[@]} ] || exit 5
fi
used=0; n=0; i=0
for p in "${page[@]}"; do
  if [ -L "$p" ]; then
    t=l; s=$(stat -c %s -- "$p"); h=$(readlink -- "$p" | tr -d '\n' | sha256sum); h=${h:0:64}
  else
    t=f; h=${hashes[i]#\\}; h=${h:0:64}; s=${sizes[i]}; i=$((i+1))
  fi
  rel=${p#./}
  if [[ $rel =~ ^[A-Za-z0-9._/@+%=,:~\ -]+$ ]]; then enc="r:$rel"
  else enc="b:$(printf %s "$rel" | base64 -w0)"; fi
  line="$t $s $h $enc"
  if [ $((used + ${#line} + 1)) -gt "$budget" ]; then break; fi
  printf '%s\n' "$line"; used=$((used + ${#line} + 1)); n=$((n + 1))
done
next=$((offset + n)); state=done; [ "$next" -lt "$total" ] && state=more
echo "END $n $next $total $state"
"""


def page_script(
    root: str, offset: int, limit: int = PAGE_MAX_ENTRIES, budget: int = PAGE_BUDGET_CHARS
) -> str:
    return (
        _PAGE_SCRIPT.replace("__ROOT__", shlex.quote(root))
        .replace("__OFFSET__", str(int(offset)))
        .replace("__LIMIT__", str(int(limit)))
        .replace("__BUDGET__", str(int(budget)))
    )


@dataclass
class Page:
    entries: list[Entry]
    next_offset: int
    total: int
    more: bool
    root_exists: bool


def parse_page(stdout: str, offset: int) -> Page:
    """Parse one page; raise ManifestError unless it is complete and self-consistent."""
    lines = stdout.splitlines()
    root_exists = True
    if lines and lines[0] == "NOROOT":
        root_exists = False
        lines = lines[1:]
    if not lines or not lines[-1].startswith("END "):
        last = redact(lines[-1])[:80] if lines else ""
        raise ManifestError(
            f"manifest page at offset {offset} has no END line: output truncated or the command "
            f"died ({len(stdout)} chars received; last line {last!r})"
        )
    try:
        _, n_text, next_text, total_text, state = lines[-1].split(" ")
        n, next_offset, total = int(n_text), int(next_text), int(total_text)
    except ValueError:
        raise ManifestError(f"malformed END line {lines[-1]!r}") from None
    body = lines[:-1]
    if len(body) != n or next_offset != offset + n or state not in ("done", "more"):
        raise ManifestError(
            f"manifest page at offset {offset} is inconsistent: END says {n} entries up to "
            f"{next_offset} ({state}), {len(body)} lines arrived"
        )
    if state == "more" and n == 0:
        raise ManifestError(f"manifest page at offset {offset} made no progress")
    entries = []
    for line in body:
        try:
            kind, size, sha, enc = line.split(" ", 3)
            path = (
                enc[2:]
                if enc.startswith("r:")
                else base64.b64decode(enc[2:]).decode("utf-8", "surrogateescape")
            )
            entries.append(Entry(path, int(size), sha, "symlink" if kind == "l" else "file"))
        except ValueError:
            raise ManifestError(f"malformed manifest line {line!r}") from None
        if len(sha) != 64:
            raise ManifestError(f"malformed sha256 in manifest line {line!r}")
    return Page(entries, next_offset, total, state == "more", root_exists)


def read_manifest(
    host: Runner,
    root: str,
    *,
    page_entries: int = PAGE_MAX_ENTRIES,
    budget: int = PAGE_BUDGET_CHARS,
) -> Manifest:
    """Read the manifest of `root` on the box, page by page (see module docstring)."""
    manifest = Manifest(root)
    offset = 0
    total: int | None = None
    while True:
        result = host.run(page_script(root, offset, page_entries, budget))
        page = parse_page(result.stdout, offset)
        if total is not None and page.total != total:
            raise ManifestError(
                f"{root} changed while being read: {total} entries, then {page.total}"
            )
        total = page.total
        manifest.root_exists = page.root_exists
        for entry in page.entries:
            manifest.entries[entry.path] = entry
        if not page.more:
            break
        offset = page.next_offset
    if len(manifest.entries) != total:
        raise ManifestError(f"{root}: read {len(manifest.entries)} entries, the box listed {total}")
    return manifest
