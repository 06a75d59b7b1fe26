"""Dependencies are installed from lock files only: every Python requirement of pyproject.toml
is pinned in requirements.lock with hashes and `make setup` installs nothing else; the report's
npm packages come from report/package-lock.json through `npm ci`."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(text: str) -> dict[str, list[str]]:
    """Package → its hash lines, from a `--generate-hashes` lock."""
    pins: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            current = canonical(match.group(1))
            pins[current] = []
        elif current and line.strip().startswith("--hash=sha256:"):
            pins[current].append(line.strip())
        elif not line.startswith((" ", "#")):
            current = None
    return pins


def required() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return {canonical(re.split(r"[<>=!~\[; ]", n, maxsplit=1)[0]) for n in names}


def test_every_requirement_is_pinned_with_hashes() -> None:
    pins = locked((REPO / "requirements.lock").read_text())
    assert required() - set(pins) == set()
    assert [name for name, hashes in pins.items() if not hashes] == []
    assert "setuptools" in pins  # the build backend comes from the lock too


def test_the_lock_check_can_fail() -> None:
    text = "pytest==9.2.0 \\\n    --hash=sha256:ab\nhttpx==0.28.1\n"
    assert locked(text) == {"pytest": ["--hash=sha256:ab"], "httpx": []}


def test_make_setup_installs_the_lock_and_nothing_else() -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    installs = [line.strip() for line in recipe.splitlines() if "pip install" in line]
    assert len(installs) == 2, installs
    assert "--require-hashes -r $(LOCK)" in installs[0]
    assert "--no-deps" in installs[1] and "--no-build-isolation" in installs[1]
    assert "$(LOCK)" in recipe.splitlines()[0]  # a changed lock rebuilds the venv
    assert re.search(r"^lock:", makefile, re.M)


def test_the_report_uses_npm_ci_with_a_complete_lockfile() -> None:
    script = (REPO / "scripts" / "report.sh").read_text()
    npm = [line.strip() for line in script.splitlines() if re.search(r"\bnpm\b", line)]
    runs = [line for line in npm if not line.startswith(("#", "echo"))]
    assert runs and all(line.startswith("npm ci ") for line in runs), runs
    package = json.loads((REPO / "report" / "package.json").read_text())
    lock = json.loads((REPO / "report" / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    missing = [k for k, v in lock["packages"].items() if k and not v.get("integrity")]
    assert missing == []
