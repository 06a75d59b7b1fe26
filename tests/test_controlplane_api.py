"""The CP's HTTP API against moto: what a provision creates, what a refusal leaves (nothing)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reference.config import StackConfig
from reference.controlplane.app import build_cp_app
from reference.controlplane.backends import secret_id_for
from reference.platform.testing import aws_client, make_config, write_template


def _cp(config: StackConfig) -> TestClient:
    return TestClient(build_cp_app(config), headers={"Authorization": f"Bearer {config.cp_secret}"})


def _body(ws_id: str, template: str = "mini", generation: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "org_id": "org-1",
        "workspace_id": ws_id,
        "runtime": "claude-code",
        "tier": 1,
        "platform_url": "http://127.0.0.1:9",
        "env": {},
        "template": template,
        "generation": generation,
        "workspace_token": "wst-test",
        **extra,
    }


class Aws:
    def __init__(self, config: StackConfig) -> None:
        self.ec2 = aws_client(config, "ec2")
        self.sm = aws_client(config, "secretsmanager")

    def instances(self, ws_id: str) -> list[dict[str, Any]]:
        answer = self.ec2.describe_instances(
            Filters=[{"Name": "tag:WorkspaceId", "Values": [ws_id]}]
        )
        return [i for r in answer["Reservations"] for i in r["Instances"]]

    def live(self, ws_id: str) -> list[dict[str, Any]]:
        return [i for i in self.instances(ws_id) if i["State"]["Name"] != "terminated"]

    def volumes(self, ws_id: str) -> list[dict[str, Any]]:
        answer = self.ec2.describe_volumes(Filters=[{"Name": "tag:WorkspaceId", "Values": [ws_id]}])
        return list(answer["Volumes"])

    def secret(self, ws_id: str) -> dict[str, Any] | None:
        try:
            raw = self.sm.get_secret_value(SecretId=secret_id_for(ws_id))["SecretString"]
        except self.sm.exceptions.ResourceNotFoundException:
            return None
        return dict(json.loads(raw))

    def user_data(self, instance_id: str) -> dict[str, Any]:
        raw = self.ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
        return dict(json.loads(base64.b64decode(raw["UserData"]["Value"])))

    def nothing_for(self, ws_id: str) -> None:
        assert self.live(ws_id) == [], "a refused provision launched an instance"
        assert self.volumes(ws_id) == [], "a refused provision created a volume"
        assert self.secret(ws_id) is None, "a refused provision staged a secret"


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    return make_config(tmp_path)


@pytest.fixture
def aws(config: StackConfig) -> Aws:
    return Aws(config)


def _ws(request: pytest.FixtureRequest) -> str:
    return "ws" + str(abs(hash(request.node.nodeid)))[:12] + str(id(request))[-6:]


def test_cp_requires_its_shared_secret(config: StackConfig) -> None:
    client = TestClient(build_cp_app(config))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": config.cp_secret}):
        answer = client.post("/workspaces/provision", json=_body("x"), headers=headers)
        assert answer.status_code == 401
        assert "shared secret" in answer.json()["error"]


def test_provision_stages_secret_launches_tagged_instance_attaches_volume(
    config: StackConfig, aws: Aws, request: pytest.FixtureRequest
) -> None:
    ws_id = _ws(request)
    answer = _cp(config).post("/workspaces/provision", json=_body(ws_id))
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert got["delivered"] == ["config.yaml", "prompts/deep/nested.md", "prompts/system.md"]
    secret = aws.secret(ws_id)
    assert secret is not None and sorted(secret["config_files"]) == got["delivered"]
    [instance] = aws.live(ws_id)
    assert instance["InstanceId"] == got["instance_id"]
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags["Role"] == "workspace" and tags["WorkspaceId"] == ws_id
    assert tags["Name"] == f"ws-{ws_id[:12]}" and tags["Generation"] == "1"
    assert tags["DataVolumeId"] == got["volume_id"] and tags["Backend"] == "saas"
    [volume] = aws.volumes(ws_id)
    assert volume["Attachments"][0]["InstanceId"] == got["instance_id"]
    assert volume["Attachments"][0]["Device"] == "/dev/sdf"
    user_data = aws.user_data(got["instance_id"])
    assert user_data["secret_id"] == secret_id_for(ws_id)
    assert user_data["workspace_token"] == "wst-test" and user_data["backend"] == "saas"


def test_restart_reuses_the_volume_and_replaces_the_instance(
    config: StackConfig, aws: Aws, request: pytest.FixtureRequest
) -> None:
    ws_id = _ws(request)
    cp = _cp(config)
    first = cp.post("/workspaces/provision", json=_body(ws_id)).json()
    stopped = cp.delete(f"/workspaces/{ws_id}", params={"instance_id": first["instance_id"]})
    assert stopped.json()["instances"] == [first["instance_id"]]
    second = cp.post("/workspaces/provision", json=_body(ws_id, generation=2)).json()
    assert second["volume_id"] == first["volume_id"]
    assert [i["InstanceId"] for i in aws.live(ws_id)] == [second["instance_id"]]
    status = cp.get(f"/workspaces/{ws_id}/status", params={"instance_id": first["instance_id"]})
    assert status.json() == {"state": "terminated"}


def test_purge_leaves_nothing(
    config: StackConfig, aws: Aws, request: pytest.FixtureRequest
) -> None:
    ws_id = _ws(request)
    cp = _cp(config)
    cp.post("/workspaces/provision", json=_body(ws_id))
    answer = cp.delete(f"/workspaces/{ws_id}", params={"purge": "true"})
    assert answer.status_code == 200 and answer.json()["status"] == "removed"
    aws.nothing_for(ws_id)


@pytest.mark.parametrize(
    ("files", "status", "fragment"),
    [
        ({"prompts/big.md": b"x" * (256 * 1024 + 1)}, 413, "per-file limit"),
        ({"prompts/a.md": b"a" * 40000, "prompts/b.md": b"b" * 40000}, 413, "Secrets Manager"),
        ({"prompts/bad.md": b"\xff\xfe"}, 422, "not UTF-8"),
    ],
)
def test_refused_provision_names_the_problem_and_leaves_nothing(
    config: StackConfig,
    aws: Aws,
    request: pytest.FixtureRequest,
    files: dict[str, str | bytes],
    status: int,
    fragment: str,
) -> None:
    write_template(config.template_roots[1], "broken", {"config.yaml": "name: b\n", **files})
    ws_id = _ws(request)
    answer = _cp(config).post("/workspaces/provision", json=_body(ws_id, template="broken"))
    assert answer.status_code == status
    body = answer.json()
    assert fragment in body["error"] and body["template"] == "broken"
    assert body["file"] in files
    aws.nothing_for(ws_id)


@pytest.mark.parametrize(("template", "status"), [("nope", 404), ("../x", 422), ("/abs", 422)])
def test_unresolvable_template_is_refused_and_leaves_nothing(
    config: StackConfig, aws: Aws, request: pytest.FixtureRequest, template: str, status: int
) -> None:
    ws_id = _ws(request)
    answer = _cp(config).post("/workspaces/provision", json=_body(ws_id, template=template))
    assert answer.status_code == status, answer.text
    assert template in answer.json()["error"]
    aws.nothing_for(ws_id)


def test_inline_files_outside_the_allowlist_are_refused(
    config: StackConfig, aws: Aws, request: pytest.FixtureRequest
) -> None:
    ws_id = _ws(request)
    body = _body(ws_id, template="", config_files={"CLAUDE.md": "mine"})
    answer = _cp(config).post("/workspaces/provision", json=body)
    assert answer.status_code == 422 and "not template-owned" in answer.json()["error"]
    aws.nothing_for(ws_id)


def test_empty_template_in_saas_stages_an_empty_set(
    config: StackConfig, aws: Aws, request: pytest.FixtureRequest
) -> None:
    """The historical bug's mechanism: no template path → nothing collected, nothing delivered."""
    ws_id = _ws(request)
    answer = _cp(config).post("/workspaces/provision", json=_body(ws_id, template=""))
    assert answer.status_code == 201
    assert aws.secret(ws_id) == {"config_files": {}}


def test_docker_backend_restart_stages_nothing(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config = make_config(tmp_path, backend="docker")
    aws = Aws(config)
    ws_id = _ws(request)
    cp = _cp(config)
    first = cp.post("/workspaces/provision", json=_body(ws_id)).json()
    assert aws.user_data(first["instance_id"])["secret_id"] == secret_id_for(ws_id)
    cp.delete(f"/workspaces/{ws_id}", params={"instance_id": first["instance_id"]})
    second = cp.post("/workspaces/provision", json=_body(ws_id, template="", generation=2)).json()
    assert second["delivered"] is None
    assert second["volume_id"] == first["volume_id"]
    user_data = aws.user_data(second["instance_id"])
    assert user_data["secret_id"] is None and user_data["backend"] == "docker"
    cp.delete(f"/workspaces/{ws_id}", params={"purge": "true"})
    aws.nothing_for(ws_id)


def test_status_of_unknown_instance_is_404(config: StackConfig) -> None:
    answer = _cp(config).get("/workspaces/x/status", params={"instance_id": "i-0000"})
    assert answer.status_code == 404 and "not found" in answer.json()["error"]


def test_bad_provision_body_is_422_naming_the_field(config: StackConfig) -> None:
    answer = _cp(config).post("/workspaces/provision", json={"workspace_id": "../x"})
    assert answer.status_code == 422
    assert "workspace_id" in answer.json()["error"] and "platform_url" in answer.json()["error"]


def test_the_leaves_nothing_check_sees_each_kind_of_leftover(
    config: StackConfig, aws: Aws, request: pytest.FixtureRequest
) -> None:
    """`nothing_for` must fail on a provision that did happen, or it proves nothing."""
    ws_id = _ws(request)
    cp = _cp(config)
    launched = cp.post("/workspaces/provision", json=_body(ws_id)).json()
    with pytest.raises(AssertionError, match="launched an instance"):
        aws.nothing_for(ws_id)
    cp.delete(f"/workspaces/{ws_id}", params={"instance_id": launched["instance_id"]})
    with pytest.raises(AssertionError, match="created a volume"):
        aws.nothing_for(ws_id)
    aws.ec2.delete_volume(VolumeId=launched["volume_id"])
    with pytest.raises(AssertionError, match="staged a secret"):
        aws.nothing_for(ws_id)
    cp.delete(f"/workspaces/{ws_id}", params={"purge": "true"})
    aws.nothing_for(ws_id)
