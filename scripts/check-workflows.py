"""Offline checks of .gitea/workflows/*.yml that a JSON schema cannot make.

The schema (check-jsonschema's vendored github-workflows) checks shape. This checks meaning:
- every `needs` names a job of the workflow, and `needs.<job>` in an expression is in `needs`;
- `needs.<job>.outputs.<name>` is an output that job declares, and a job's outputs read steps
  that exist (`steps.<id>.outputs...`);
- `run:` never interpolates `${{ }}` (secrets and event text go through `env:`, so they are
  neither echoed in the command line nor able to inject shell);
- scripts a step runs exist, and `make` targets exist in the Makefile;
- no artifact action v4+ (Gitea < 1.26 refuses it: GHESNotSupportedError);
- secrets reach only the steps that need them: never a workflow's or a job's `env` (every
  step would see them, `make setup`'s pip and npm included), never an action's `with`, and a
  step's `env` only when it runs what talks to the tenant or AWS (`make e2e`, `python -m
  e2e.sweep`).

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
SECRET_REF = re.compile(r"\bsecrets\.([A-Za-z0-9_]+)")


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


def secrets_in(node: Any) -> list[str]:
    """Names of the secrets a YAML node reads."""
    return sorted({m for text in _strings(node) for m in SECRET_REF.findall(text)})


def needs_secrets(script: str) -> bool:
    """The step runs the suite or the sweeper: the only commands that talk to the tenant/AWS."""
    for words in run_commands(script):
        head = Path(words[0]).name
        if head == "make" and "e2e" in words[1:]:
            return True
        if head.startswith("python") and words[1:3] == ["-m", "e2e.sweep"]:
            return True
    return False


def check_secrets(name: str, job: dict[str, Any]) -> list[str]:
    problems = []
    exposed = secrets_in(job.get("env") or {})
    if exposed:
        problems.append(
            f"job {name}: env gives {', '.join(exposed)} to every step; "
            "give secrets only to the steps that need them"
        )
    for index, step in enumerate(job.get("steps", [])):
        label = f"job {name} step {step.get('name') or step.get('uses') or index}"
        given = secrets_in(step.get("env") or {})
        handed = secrets_in(step.get("with") or {})
        if handed:
            problems.append(f"{label}: hands {', '.join(handed)} to an action")
        if given and not needs_secrets(str(step.get("run") or "")):
            problems.append(
                f"{label}: sees {', '.join(given)} but runs nothing that needs them "
                "(only `make e2e` and `python -m e2e.sweep` do)"
            )
    return problems


def check_job(name: str, job: dict[str, Any], jobs: dict[str, Any], targets: set[str]) -> list[str]:
    problems = check_secrets(name, job)
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
    exposed = secrets_in(data.get("env") or {})
    if exposed:
        problems.append(f"{path.name}: workflow env gives {', '.join(exposed)} to every step")
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
