"""Offline checks of .gitea/workflows/*.yml that a JSON schema cannot make.

The schema (check-jsonschema's vendored github-workflows) checks shape. This checks meaning:
- every `needs` names a job of the workflow, and `needs.<job>` in an expression is in `needs`;
- `needs.<job>.outputs.<name>` is an output that job declares, and a job's outputs read steps
  that exist (`steps.<id>.outputs...`);
- `run:` never interpolates `${{ }}` (secrets and event text go through `env:`, so they are
  neither echoed in the command line nor able to inject shell);
- scripts a step runs exist, and `make` targets exist in the Makefile;
- no artifact action v4+ (Gitea < 1.26 refuses it: GHESNotSupportedError).

Usage: python scripts/check-workflows.py FILE...   (exit 1 and one line per problem)
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
NEEDS_REF = re.compile(r"needs\.([A-Za-z0-9_-]+)(?:\.outputs\.([A-Za-z0-9_-]+))?")
STEP_OUTPUT_REF = re.compile(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")
ARTIFACT_V4 = re.compile(r"^actions/(upload|download)-artifact@v([4-9]|\d\d)")


def make_targets(makefile: Path = REPO / "Makefile") -> set[str]:
    targets: set[str] = set()
    for line in makefile.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", line)
        if match:
            targets.add(match.group(1))
    return targets


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _strings(node: Any) -> list[str]:
    """Every string inside a YAML node (keys excluded)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def run_commands(script: str) -> list[list[str]]:
    """Shell words of each simple command in a `run:` block (good enough for our workflows)."""
    commands = []
    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
            try:
                words = shlex.split(part)
            except ValueError:
                continue
            while words and re.match(r"^[A-Z_]+=", words[0]):  # env assignments
                words.pop(0)
            while words and words[0] in ("timeout", "{", "then", "else", "do"):
                words.pop(0)
                while words and (words[0].startswith("-") or words[0].isdigit()):
                    words.pop(0)
            if words:
                commands.append(words)
    return commands


def check_job(name: str, job: dict[str, Any], jobs: dict[str, Any], targets: set[str]) -> list[str]:
    problems = []
    needs = _as_list(job.get("needs"))
    for need in needs:
        if need not in jobs:
            problems.append(f"job {name}: needs unknown job {need!r}")
    for text in _strings(job):
        for ref, output in NEEDS_REF.findall(text):
            if ref not in needs:
                problems.append(f"job {name}: uses needs.{ref} but does not list it in needs")
            elif output and ref in jobs and output not in (jobs[ref].get("outputs") or {}):
                problems.append(
                    f"job {name}: needs.{ref}.outputs.{output} is not an output of {ref}"
                )
    step_ids = {s.get("id") for s in job.get("steps", []) if isinstance(s, dict)}
    for text in _strings(job.get("outputs") or {}):
        for step_id, _ in STEP_OUTPUT_REF.findall(text):
            if step_id not in step_ids:
                problems.append(f"job {name}: output reads steps.{step_id}, no such step id")
    for index, step in enumerate(job.get("steps", [])):
        label = f"job {name} step {step.get('name') or step.get('uses') or index}"
        uses = str(step.get("uses", ""))
        if ARTIFACT_V4.match(uses):
            problems.append(f"{label}: {uses} fails on Gitea < 1.26; use v3")
        script = step.get("run")
        if not isinstance(script, str):
            continue
        if "${{" in script:
            problems.append(f"{label}: run interpolates ${{{{ }}}}; pass values through env")
        for words in run_commands(script):
            head = words[0]
            if head.startswith("scripts/") or (len(words) > 1 and words[1].startswith("scripts/")):
                path = head if head.startswith("scripts/") else words[1]
                if not (REPO / path).is_file():
                    problems.append(f"{label}: runs {path}, which does not exist")
                elif head == path and not (REPO / path).stat().st_mode & 0o111:
                    problems.append(f"{label}: runs {path}, which is not executable")
            if head == "make":
                for target in words[1:]:
                    if "=" not in target and not target.startswith("-") and target not in targets:
                        problems.append(f"{label}: make target {target!r} not in the Makefile")
    return problems


def check_workflow(path: Path, targets: set[str] | None = None) -> list[str]:
    targets = make_targets() if targets is None else targets
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return [f"{path}: not YAML: {exc}"]
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        return [f"{path}: no jobs"]
    jobs = data["jobs"]
    problems = []
    for name, job in jobs.items():
        problems += [f"{path.name}: {p}" for p in check_job(name, job or {}, jobs, targets)]
    return problems


def main(paths: list[str]) -> int:
    targets = make_targets()
    problems = [p for path in paths for p in check_workflow(Path(path), targets)]
    for problem in problems:
        print(f"check-workflows: {problem}")
    print(f"check-workflows: {len(paths)} workflow(s), {len(problems)} problem(s)")
    return 1 if problems or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
