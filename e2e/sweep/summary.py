"""What a sweep did, for people (stdout) and for CI (a JSON file that is always written: after
an error, a refused listing or Ctrl-C too, so an empty artifact never passes for "nothing")."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from e2e.harness.report import redact
from e2e.sweep.policy import KEPT, Case, Item


@dataclass
class Summary:
    mode: str  # dry run | delete | wait idle
    scope: str  # workspaces | orgs
    host: str = ""
    run_id: str | None = None
    older_than_minutes: float = 0.0
    max_deletions: int = 0
    now: str = ""
    items: list[Item] = field(default_factory=list)
    ignored: int = 0  # names that do not even start with e2e-: never listed
    templates_of_runs: list[str] = field(default_factory=list)
    error: str | None = None  # the sweep could not finish (listing refused, cap, config)
    interrupted: bool = False
    busy: list[str] = field(default_factory=list)  # wait idle: the runs still active

    @property
    def dry_run(self) -> bool:
        return self.mode == "dry run"

    def counts(self) -> dict[str, int]:
        found = Counter(str(i.case) for i in self.items if i.case)
        return {str(case): found.get(str(case), 0) for case in Case}

    def failed(self) -> list[Item]:
        return [i for i in self.items if i.case is Case.FAILED]

    def leftovers(self, run_id: str | None) -> list[Item]:
        """Resources named by the run (or any run) that are still there after this sweep."""
        gone = (Case.DELETED, Case.ALREADY_GONE)
        return [i for i in self.items if i.run and run_id in (None, i.run) and i.case not in gone]

    def to_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "scope": self.scope,
            "host": self.host,
            "run_id": self.run_id,
            "older_than_minutes": self.older_than_minutes,
            "max_deletions": self.max_deletions,
            "now": self.now,
            "complete": self.error is None and not self.interrupted,
            "error": self.error,
            "interrupted": self.interrupted,
            "counts": self.counts(),
            "ignored_non_e2e": self.ignored,
            "runs_with_templates": sorted(self.templates_of_runs),
            "busy": self.busy,
            "resources": [i.to_json() for i in self.items],
        }

    def lines(self) -> list[str]:
        scope = f"run {self.run_id}" if self.run_id else "every e2e run"
        out = [
            f"{self.mode}: {self.scope} of {scope} on {self.host or '?'}, older than "
            f"{self.older_than_minutes:g} min, cap {self.max_deletions}, now {self.now}"
        ]
        for item in self.items:
            extra = f": {item.error}" if item.error else ""
            out.append(f"  {item.case}: {item.kind} {item.name} ({item.id}): {item.reason}{extra}")
        counts = ", ".join(f"{n} {case}" for case, n in self.counts().items() if n)
        kept = sum(1 for i in self.items if i.case in KEPT)
        out.append(f"{self.mode}: {counts or 'nothing found'} ({kept} kept in all)")
        if self.dry_run:
            out.append("dry run: nothing was deleted (pass --yes to delete)")
        if self.interrupted:
            out.append("interrupted: the summary shows what was done until then")
        if self.error:
            out.append(f"sweep: {self.error}")
        return [redact(line) for line in out]


def write(summary: Summary, path: Path) -> None:
    """Atomically (a reader never sees half a file), redacted like every report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(redact(json.dumps(summary.to_json(), indent=2)) + "\n")
    os.replace(tmp, path)
