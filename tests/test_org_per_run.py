"""A tenant per run against the reference: the gate passes on a tenant the run made through the
control plane's org admin API, and afterwards — also when the run is stopped with SIGINT in the
middle of the gate — no org, instance, volume or secret of it is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from support.served import REPO, Served

from e2e.harness.waits import wait_for

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
          "-p", "no:schemathesis", "-q", "-n", "0"]  # fmt: skip


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    stack = Served(tmp_path)
    yield stack
    stack.stop(signal.SIGTERM)


def org_env(served: Served, run_id: str) -> dict[str, str]:
    info = served.info
    env = {k: v for k, v in os.environ.items() if not k.startswith(("E2E_", "PYTEST_XDIST"))}
    return env | {
        "E2E_TARGET": "external",
        "E2E_RUN_ID": run_id,
        "E2E_CP_URL": info["platform_url"],
        "E2E_CP_ADMIN_TOKEN": info["cp_admin_token"],
        "E2E_TENANT_URL_TEMPLATE": info["tenant_url_template"],
        "AWS_ENDPOINT_URL": info["aws_endpoint_url"],
        "AWS_ACCESS_KEY_ID": info["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": info["aws_secret_access_key"],
        "AWS_REGION": info["region"],
    }


def orgs(served: Served) -> list[str]:
    answer = httpx.get(
        served.info["cp_url"] + "/admin/orgs",
        headers={"Authorization": f"Bearer {served.info['cp_admin_token']}"},
    )
    return [str(o["slug"]) for o in answer.json()["orgs"]]


def aws(served: Served, service: str) -> Any:
    info = served.info
    return boto3.client(
        service,
        endpoint_url=info["aws_endpoint_url"],
        region_name=info["region"],
        aws_access_key_id=info["aws_access_key_id"],
        aws_secret_access_key=info["aws_secret_access_key"],
    )


def leftovers(served: Served) -> list[str]:
    ec2 = aws(served, "ec2")
    found = [
        f"instance {i['InstanceId']} {i['State']['Name']}"
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    found += [f"volume {v['VolumeId']}" for v in ec2.describe_volumes()["Volumes"]]
    found += [
        f"secret {s['Name']}" for s in aws(served, "secretsmanager").list_secrets()["SecretList"]
    ]
    found += [f"org {slug}" for slug in orgs(served) if slug != served.info["tenant_slug"]]
    return found


def assert_nothing_left(served: Served) -> None:
    wait_for("nothing left", lambda: leftovers(served), lambda left: not left, timeout_s=30,
             poll_s=0.2)  # fmt: skip


def test_the_gate_passes_on_a_tenant_of_its_own_and_leaves_nothing(served: Served) -> None:
    done = subprocess.run(
        [*PYTEST, "e2e/test_gate.py"],
        cwd=REPO,
        env=org_env(served, "12011200aa01"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    assert_nothing_left(served)


def test_sigint_in_the_middle_of_the_gate_still_removes_the_tenant(served: Served) -> None:
    run = subprocess.Popen(
        [*PYTEST, "e2e/test_gate.py"],
        cwd=REPO,
        env=org_env(served, "12011200aa02"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ec2 = aws(served, "ec2")

        def boxes() -> list[str]:
            answer = ec2.describe_instances(
                Filters=[{"Name": "tag:Name", "Values": ["ws-tenant-e2e-*"]}]
            )
            return [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]

        wait_for(
            "a box of the run's tenant", boxes, lambda ids: len(ids) >= 2, timeout_s=60, poll_s=0.1
        )  # fmt: skip  (the reconcile's restart: mid-gate)
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode != 0, out[-2000:]
    assert_nothing_left(served)
