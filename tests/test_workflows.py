"""The CI workflows: valid (schema + meaning, offline), each proven able to fail on a broken copy;
the required check's verdict for passed / failed / skipped / cancelled; the change detector;
the staging smoke's guarantees; and the workflows run only the README's commands."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".gitea" / "workflows"
BIN = Path(sys.executable).parent
AGGREGATE = REPO / "scripts" / "aggregate-result.sh"
DETECT = REPO / "scripts" / "detect-changes.sh"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_workflows", REPO / "scripts" / "check-workflows.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return dict(data)


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def test_the_workflows_exist() -> None:
    assert {p.name for p in workflow_files()} == {
        "ci.yml",
        "template-delivery-e2e.yml",
        "staging-smoke.yml",
        "sweep-stale-e2e.yml",
        "nightly-mutants.yml",
    }


# -- validation, and proof that it fails on broken workflows ----------------------------------


def schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflows_pass_the_schema() -> None:
    result = schema_check(*workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("breakage", "expect"),
    [
        (lambda t: t.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1), "runs-on"),
        (lambda t: t.replace("  pull_request:\n", "  pull_requests:\n", 1), "$.on"),
        (
            lambda t: t.replace(
                "    needs: [changes, e2e]\n", "    needs: [changes, e2e]\n    timeout: 5\n"
            ),
            "'timeout' was unexpected",
        ),
    ],
    ids=["runs_on typo", "unknown event", "unknown job key"],
)
def test_schema_rejects_a_broken_workflow(tmp_path: Path, breakage: Any, expect: str) -> None:
    original = (WORKFLOWS / "template-delivery-e2e.yml").read_text()
    broken = breakage(original)
    assert broken != original
    path = tmp_path / "broken.yml"
    path.write_text(broken)
    result = schema_check(path)
    assert result.returncode == 1
    assert expect in result.stdout, result.stdout


def test_workflows_pass_the_meaning_checks() -> None:
    problems = [p for path in workflow_files() for p in checker.check_workflow(path)]
    assert problems == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "    needs: [changes, e2e]\n",
            "    needs: [changes, e2e, lint]\n",
            "needs unknown job 'lint'",
        ),
        (
            "    needs: [changes, e2e]\n",
            "    needs: [e2e]\n",
            "uses needs.changes but does not list it",
        ),
        (
            "needs.changes.outputs.heavy == 'true'",
            "needs.changes.outputs.hevy == 'true'",
            "needs.changes.outputs.hevy is not an output of changes",
        ),
        (
            "heavy: ${{ steps.detect.outputs.heavy }}",
            "heavy: ${{ steps.detekt.outputs.heavy }}",
            "output reads steps.detekt",
        ),
        (
            'run: scripts/aggregate-result.sh "$DETECTOR" "$HEAVY" "$E2E"',
            "run: scripts/aggregate-result.sh ${{ needs.changes.result }} x y",
            "run interpolates",
        ),
        ("run: make e2e", "run: make e2e-all", "make target 'e2e-all' not in the Makefile"),
        (
            "scripts/aggregate-result.sh",
            "scripts/aggregate.sh",
            "scripts/aggregate.sh, which does not exist",
        ),
        ("actions/upload-artifact@v3", "actions/upload-artifact@v4", "fails on Gitea < 1.26"),
    ],
)
def test_meaning_checks_fail_on_broken_workflows(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    original = (WORKFLOWS / "template-delivery-e2e.yml").read_text()
    assert old in original
    path = tmp_path / "template-delivery-e2e.yml"
    path.write_text(original.replace(old, new, 1))
    problems = checker.check_workflow(path)
    assert any(problem in p for p in problems), problems


SUITE_SECRETS = """        env:
          E2E_PLATFORM_URL: ${{ secrets.STAGING_PLATFORM_URL }}
          E2E_ADMIN_TOKEN: ${{ secrets.STAGING_ADMIN_TOKEN }}
          E2E_ORG_ID: ${{ secrets.STAGING_ORG_ID }}
          # SSM Run Command"""


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (  # the old shape: every step of the job sees the tenant's token
            "      E2E_TARGET: staging\n",
            "      E2E_TARGET: staging\n"
            "      E2E_ADMIN_TOKEN: ${{ secrets.STAGING_ADMIN_TOKEN }}\n",
            "job smoke: env gives STAGING_ADMIN_TOKEN to every step",
        ),
        (
            "      - name: install\n        run: make setup\n",
            "      - name: install\n        env:\n          T: ${{ secrets.STAGING_ADMIN_TOKEN }}\n"
            "        run: make setup\n",
            "step install: sees STAGING_ADMIN_TOKEN but runs nothing that needs them",
        ),
        (
            '          python-version: "3.11"\n',
            '          python-version: "3.11"\n'
            "          token: ${{ secrets.STAGING_ADMIN_TOKEN }}\n",
            "hands STAGING_ADMIN_TOKEN to an action",
        ),
        (
            "permissions:\n",
            "env:\n  X: ${{ secrets.A_KEY }}\npermissions:\n",
            "workflow env gives A_KEY",
        ),
    ],
    ids=["job env", "install step", "action input", "workflow env"],
)
def test_secrets_reach_only_the_steps_that_need_them(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    original = (WORKFLOWS / "staging-smoke.yml").read_text()
    assert old in original and SUITE_SECRETS in original
    assert checker.check_workflow(WORKFLOWS / "staging-smoke.yml") == []
    path = tmp_path / "staging-smoke.yml"
    path.write_text(original.replace(old, new, 1))
    problems = checker.check_workflow(path)
    assert any(problem in p for p in problems), problems


def test_make_workflows_fails_on_a_broken_workflow_via_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text((WORKFLOWS / "ci.yml").read_text().replace("make unit", "make units"))
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check-workflows.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "make target 'units' not in the Makefile" in result.stdout


# -- the required check ------------------------------------------------------------------------


def aggregate(detector: str, heavy: str, e2e: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGGREGATE), detector, heavy, e2e], capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("detector", "heavy", "e2e", "passes"),
    [
        ("success", "true", "success", True),  # e2e passed
        ("success", "false", "skipped", True),  # docs only: skipped by the detector
        ("success", "true", "failure", False),  # e2e failed
        ("success", "true", "cancelled", False),  # e2e cancelled (timeout, superseded)
        ("success", "true", "skipped", False),  # skipped although needed
        ("success", "", "skipped", False),  # detector gave no answer
        ("failure", "", "skipped", False),  # detector broke: e2e skipped for the wrong reason
        ("cancelled", "", "skipped", False),
        ("skipped", "", "skipped", False),
        ("success", "false", "success", True),
    ],
)
def test_aggregate_verdict(detector: str, heavy: str, e2e: str, passes: bool) -> None:
    result = aggregate(detector, heavy, e2e)
    assert result.returncode == (0 if passes else 1), result.stdout
    assert result.stdout.startswith("template-delivery-e2e: " + ("PASS" if passes else "FAIL"))


def test_aggregate_refuses_wrong_usage() -> None:
    result = subprocess.run([str(AGGREGATE), "success"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "usage" in result.stderr


def test_required_check_always_runs_and_sees_every_job() -> None:
    wf = load("template-delivery-e2e.yml")
    triggers = wf["on"]
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]
    for trigger in triggers.values():  # a paths filter would skip the workflow and never report
        assert not set(trigger or {}) & {"paths", "paths-ignore"}
    jobs = wf["jobs"]
    gate = jobs["template-delivery-e2e"]
    assert gate["name"] == "template-delivery-e2e"
    assert gate["if"] == "always()"
    assert set(gate["needs"]) == set(jobs) - {"template-delivery-e2e"}
    verdict = gate["steps"][-1]
    assert verdict["run"].startswith("scripts/aggregate-result.sh")
    assert verdict["env"] == {
        "DETECTOR": "${{ needs.changes.result }}",
        "HEAVY": "${{ needs.changes.outputs.heavy }}",
        "E2E": "${{ needs.e2e.result }}",
    }
    assert jobs["e2e"]["if"] == "needs.changes.outputs.heavy == 'true'"
    steps = {s.get("name"): s for s in jobs["e2e"]["steps"]}
    assert steps["template-delivery suite"]["run"] == "make e2e"
    assert steps["HTML report"]["if"] == "always()"
    upload = steps["upload JUnit and reports"]
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"


# -- the change detector ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paths", "heavy"),
    [
        (["README.md", "docs/contract.md", "e2e/README.md"], "false"),
        (["docs/contract.md", "e2e/sweep.py"], "true"),
        (["fixtures/templates/seo-agent/prompts/system.md"], "true"),  # product bytes, not docs
        (["fixtures/templates/seo-agent/CLAUDE.md"], "true"),
        (["reference/platform/notes.md"], "true"),
        ([".gitea/workflows/template-delivery-e2e.yml"], "true"),
        ([], "true"),  # unknown diff: run the suite
    ],
)
def test_change_detector(paths: list[str], heavy: str) -> None:
    result = subprocess.run(
        [str(DETECT)], input="\n".join(paths) + "\n", capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"heavy={heavy}\n"


# -- staging smoke and sweeper ------------------------------------------------------------------


def test_staging_smoke_guarantees() -> None:
    wf = load("staging-smoke.yml")
    assert {"workflow_dispatch", "schedule"} <= set(wf["on"])
    assert "deploy-finished" in wf["on"]["workflow_dispatch"]["inputs"]["reason"]["options"]
    assert wf["concurrency"] == {"group": "staging-smoke", "cancel-in-progress": False}
    job = wf["jobs"]["smoke"]
    assert job["runs-on"] == "staging-smoke"  # one act_runner, capacity 1, on older Gitea
    env = job["env"]
    assert env["E2E_TARGET"] == "staging"
    steps = job["steps"]
    # the secrets: the suite gets all five, the two sweeper steps the platform's three, no
    # other step (install, report, upload) any
    given = {s.get("name"): set(s.get("env") or {}) for s in steps if checker.secrets_in(s)}
    platform = {"E2E_PLATFORM_URL", "E2E_ADMIN_TOKEN", "E2E_ORG_ID"}
    assert given == {
        "wait until no other e2e run is active": platform,
        "template-delivery suite against staging": platform
        | {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
        "teardown leftovers and leak check": platform,
    }
    assert not checker.secrets_in(env)
    suite = next(i for i, s in enumerate(steps) if "make e2e" in str(s.get("run", "")))
    waits = [i for i, s in enumerate(steps) if "--wait-idle-minutes" in str(s.get("run", ""))]
    assert waits and waits[0] < suite and "if" not in steps[waits[0]]  # a busy tenant stops it
    # teardown, leak check, report and upload run whatever the suite did
    assert all(s.get("if") == "always()" for s in steps[suite + 1 :])
    assert any(
        "e2e.sweep" in str(s.get("run"))
        and "--fail-on-leftovers" in s["run"]
        and "--yes" in s["run"]
        for s in steps[suite + 1 :]
    )
    # the harness's deadline (with its teardown reserve) ends before `timeout` interrupts it,
    # and SIGINT comes before SIGKILL, all inside the job's own limit
    match = re.fullmatch(
        r"timeout --signal=INT --kill-after=(\d+) (\d+) make e2e", steps[suite]["run"]
    )
    assert match, steps[suite]["run"]
    grace, limit = map(int, match.groups())
    assert float(env["E2E_DEADLINE_S"]) < limit
    assert limit + grace < job["timeout-minutes"] * 60


def test_sweeper_workflow_is_hourly_capped_and_has_a_dry_run() -> None:
    wf = load("sweep-stale-e2e.yml")
    (cron,) = [entry["cron"] for entry in wf["on"]["schedule"]]
    minute, hour, *rest = cron.split()
    assert minute.isdigit() and hour == "*" and rest == ["*", "*", "*"]
    assert wf["on"]["workflow_dispatch"]["inputs"]["dry_run"]["type"] == "boolean"
    assert wf["on"]["workflow_dispatch"]["inputs"]["dry_run"]["default"] is True
    job = wf["jobs"]["sweep"]
    # schedule runs (no inputs) delete; a manual run deletes only when dry_run is unticked
    mode = job["env"]["SWEEP_MODE"]
    assert mode.endswith("&& '--dry-run' || '--yes' }}"), mode
    assert job["env"]["E2E_SWEEP_ALLOWED_HOSTS"].startswith("${{ vars.")
    sweeps = [s for s in job["steps"] if "-m e2e.sweep" in str(s.get("run", ""))]
    assert len(sweeps) == 2 and "--orgs" in sweeps[1]["run"]
    assert not checker.secrets_in(job["env"])  # the tokens are in the sweep steps' env only
    assert checker.secrets_in(sweeps[0]["env"]) and checker.secrets_in(sweeps[1]["env"])
    for step in sweeps:
        run = step["run"]
        assert '"$SWEEP_MODE"' in run and "--max-deletions" in run and "--summary" in run
        assert "--older-than-minutes" in run


def test_ci_runs_everything_make_test_checks() -> None:
    """Between them, ci.yml and the PR gate run every prerequisite of `make test`."""
    makefile = (REPO / "Makefile").read_text()
    prerequisites = re.search(r"^test:(.*)$", makefile, re.M)
    assert prerequisites
    needed = set(prerequisites.group(1).split())
    ran = set()
    for name in ("ci.yml", "template-delivery-e2e.yml"):
        for targets in make_invocations(load(name)):
            ran |= set(targets)
    assert needed <= ran, needed - ran


# -- the workflows run the README's commands -----------------------------------------------------


def make_invocations(wf: dict[str, Any]) -> list[list[str]]:
    found = []
    for job in wf["jobs"].values():
        for step in job.get("steps", []):
            for words in checker.run_commands(str(step.get("run", ""))):
                if words[0] == "make":
                    found.append([w for w in words[1:] if "=" not in w])
    return found


def commands_of(wf: dict[str, Any]) -> set[str]:
    """The user-facing commands a workflow runs: make targets, python modules, repo scripts."""
    commands = set()
    for job in wf["jobs"].values():
        for step in job.get("steps", []):
            for words in checker.run_commands(str(step.get("run", ""))):
                head = Path(words[0]).name
                if head == "make":
                    commands |= {f"make {t}" for t in words[1:] if "=" not in t}
                elif head.startswith("python"):
                    if words[1:2] == ["-m"]:
                        commands.add(f"python -m {words[2]}")
                    else:
                        commands.add(words[1])
                elif words[0].startswith("scripts/"):
                    commands.add(words[0])
    return commands


def readme_commands() -> set[str]:
    """Commands the README shows in code: `make a b` counts as `make a` and `make b`."""
    text = (REPO / "README.md").read_text()
    spans = re.findall(r"```.*?```|`[^`\n]+`", text, re.S)
    commands: set[str] = set()
    for span in spans:
        for line in span.strip("`").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("make "):
                commands |= {f"make {t}" for t in line.split()[1:]}
            for module in re.findall(r"python3? -m ([\w.]+)", line):
                commands.add(f"python -m {module}")
            commands |= set(re.findall(r"scripts/[\w.-]+", line))
    return commands


@pytest.mark.parametrize("name", [p.name for p in sorted(WORKFLOWS.glob("*.yml"))])
def test_workflow_commands_are_the_readmes(name: str) -> None:
    commands = commands_of(load(name))
    assert commands, f"{name} runs no command of ours"
    undocumented = commands - readme_commands()
    assert not undocumented, f"{name} runs commands the README does not show: {undocumented}"


def test_readme_command_check_can_fail() -> None:
    wf = {"jobs": {"x": {"steps": [{"run": "make e2e\n.venv/bin/python -m e2e.secret_tool"}]}}}
    assert commands_of(wf) - readme_commands() == {"python -m e2e.secret_tool"}
