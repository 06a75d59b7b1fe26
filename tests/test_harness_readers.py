"""readers.py: two independent ways to read a box. FilesApiReader against the product's files
API (support.files_api, served over httpx.MockTransport through the real PlatformClient) must
list past the API's depth limit of 5, take sizes from the answers, and hash content as UTF-8;
and on a UTF-8 tree both readers — files API and SSM (real bash via support.fake_ssm) — must
agree with the harness's local manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from support.fake_ssm import FakeSsm
from support.files_api import FilesApi
from support.local_box import IDENTITY

from e2e.harness.fixture import CONFIGS, WORKSPACE
from e2e.harness.manifest import manifest_of_dir
from e2e.harness.platform import PlatformClient
from e2e.harness.readers import FILES_API_MAX_DEPTH, FilesApiReader, SsmReader
from e2e.harness.ssm import SsmHost
from e2e.harness.verify import channel_findings, read_with

WS = "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d"
TREE = {
    "config.yaml": b"name: x\n",
    "prompts/windows-crlf.md": b"line\r\nline\r\n",
    "prompts/bom.md": b"\xef\xbb\xbf# BOM\n",
    "prompts/empty.md": b"",
    "prompts/Übersicht café.md": "grüß gott ☕\n".encode(),
    "prompts/l1/l2/l3/l4/deep.md": b"4 below prompts: 6 components\n",
    "prompts/l1/l2/l3/l4/l5/l6/l7/deeper.md": b"9 components: two relistings\n",
    "prompts/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/deepest.md": b"13 components\n",
}


@pytest.fixture
def box(tmp_path: Path) -> Path:
    root = tmp_path / "box"
    for rel, data in TREE.items():
        path = root / "configs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "workspace" / "notes").mkdir(parents=True)
    (root / "workspace" / "notes" / "a.md").write_bytes(b"a\n")
    return root


def files_reader(root: Path) -> tuple[FilesApiReader, FilesApi]:
    api = FilesApi(WS, {CONFIGS: root / "configs", WORKSPACE: root / "workspace"})
    platform = PlatformClient(
        "http://tenant.test", "t", "o", transport=httpx.MockTransport(api.handler)
    )
    return FilesApiReader(platform, WS), api


def test_the_files_api_manifest_is_the_local_manifest_at_any_depth(box: Path) -> None:
    reader, api = files_reader(box)
    got = reader.manifest(CONFIGS)
    assert got.entries == manifest_of_dir(box / "configs", CONFIGS).entries
    assert got.root == CONFIGS
    depths = {depth for _, _, depth in api.listings}
    assert depths == {FILES_API_MAX_DEPTH}  # never asks for more than the API allows
    relisted = sorted(path for _, path, _ in api.listings if path)
    assert relisted == [
        "prompts/l1/l2/l3/l4",
        "prompts/l1/l2/l3/l4/l5/l6/l7/l8/l9",
    ]


def test_sizes_come_from_the_answer_and_content_is_hashed_as_utf8(tmp_path: Path) -> None:
    """The API answers text (invalid UTF-8 replaced): the size is the true byte count, the
    hash is of the text it could read — so a non-UTF-8 file shows up as a difference."""
    (tmp_path / "configs").mkdir(parents=True)
    (tmp_path / "workspace").mkdir()
    (tmp_path / "configs" / "latin1.md").write_bytes(b"caf\xe9\n")
    reader, _ = files_reader(tmp_path)
    entry = reader.manifest(CONFIGS).entries["latin1.md"]
    assert entry.size == 5
    assert entry.sha256 == hashlib.sha256("caf\ufffd\n".encode()).hexdigest()
    assert entry.sha256 != hashlib.sha256(b"caf\xe9\n").hexdigest()


def test_a_file_listed_then_gone_is_kept_with_a_null_hash(box: Path) -> None:
    reader, api = files_reader(box)
    original = api.handler

    def vanishing(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/config.yaml"):
            return httpx.Response(404, json={"error": "file not found on workspace"})
        return original(request)

    reader.platform = PlatformClient("http://t", "t", "o", transport=httpx.MockTransport(vanishing))
    entry = reader.manifest(CONFIGS).entries["config.yaml"]
    assert (entry.size, entry.sha256) == (len(TREE["config.yaml"]), "0" * 64)


def test_whole_files_are_read_from_the_right_root(box: Path) -> None:
    reader, api = files_reader(box)
    assert reader.read("/configs/prompts/windows-crlf.md") == b"line\r\nline\r\n"
    assert reader.read("/configs/prompts/Übersicht café.md") == TREE["prompts/Übersicht café.md"]
    assert reader.read("/workspace/notes/a.md") == b"a\n"
    assert reader.read("/configs/nope.md") is None
    assert api.reads[-2:] == [("/workspace", "notes/a.md"), ("/configs", "nope.md")]


@pytest.mark.parametrize("name", ["c#-guide.md", "what?.md", "100%41.md"])
def test_file_names_with_url_characters_are_read_as_themselves(tmp_path: Path, name: str) -> None:
    (tmp_path / "configs").mkdir(parents=True)
    (tmp_path / "workspace").mkdir()
    (tmp_path / "configs" / name).write_bytes(b"mine\n")
    (tmp_path / "configs" / "c").write_bytes(b"another file\n")
    reader, _ = files_reader(tmp_path)
    assert reader.read(f"/configs/{name}") == b"mine\n"


def test_both_channels_read_the_same_box_alike(box: Path) -> None:
    """The cross-check `E2E_BOX_CHANNEL=both` relies on: on a UTF-8 tree, SSM (paged bash
    manifests) and the files API agree to the byte."""
    ssm = SsmReader(SsmHost(FakeSsm(box, instance_id="i-0abc"), "i-0abc", poll_s=0.001))
    files, _ = files_reader(box)
    readings = [read_with(ssm, IDENTITY), read_with(files, IDENTITY)]
    assert readings[0].configs.entries == readings[1].configs.entries
    assert readings[0].workspace.entries == readings[1].workspace.entries
    assert channel_findings(readings) == []
    assert ssm.read("/configs/prompts/bom.md") == files.read("/configs/prompts/bom.md")
