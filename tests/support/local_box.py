"""A box as two local directories (`<root>/configs`, `<root>/workspace`): the harness's own
local manifests of them (manifest_of_dir, the same hashing the box side does) and a reader of
whole files — for decide/effects tests that need a real tree but no transport."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from e2e.harness.fixture import CONFIGS, WORKSPACE, Expected, TemplateFixture
from e2e.harness.identity import BoxIdentity
from e2e.harness.manifest import Manifest, manifest_of_dir
from e2e.harness.verify import BoxReading

IDENTITY = BoxIdentity("i-0abc", datetime(2026, 6, 19, 10, 0, tzinfo=UTC))


@dataclass
class LocalBox:
    root: Path
    channel: str = "local"

    def __post_init__(self) -> None:
        self.configs.mkdir(parents=True, exist_ok=True)
        self.workspace.mkdir(parents=True, exist_ok=True)

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    def local(self, path: str) -> Path:
        for prefix, directory in ((CONFIGS, self.configs), (WORKSPACE, self.workspace)):
            if path.startswith(prefix + "/"):
                return directory / path[len(prefix) + 1 :]
        raise ValueError(f"not under {CONFIGS} or {WORKSPACE}: {path}")

    def write(self, files: dict[str, bytes]) -> None:
        """Files by absolute box path (`/configs/CLAUDE.md`)."""
        for path, data in files.items():
            target = self.local(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def put(self, directory: str, files: dict[str, bytes]) -> None:
        """Files relative to a box directory (`/configs/plugins/seo-all`)."""
        self.write({f"{directory}/{rel}": data for rel, data in files.items()})

    # -- the BoxReader interface ---------------------------------------------------------------
    def read(self, path: str) -> bytes | None:
        target = self.local(path)
        return target.read_bytes() if target.is_file() else None

    def manifest(self, root: str) -> Manifest:
        directory = self.configs if root == CONFIGS else self.workspace
        return manifest_of_dir(directory, root)

    def reading(self, identity: BoxIdentity = IDENTITY) -> BoxReading:
        return BoxReading(identity, self.manifest(CONFIGS), self.manifest(WORKSPACE), self)


def seeded_box(root: Path, template: Path, user: dict[str, bytes]) -> tuple[LocalBox, Expected]:
    """A box with the template delivered and the user's files seeded; expectations to match."""
    fixture = TemplateFixture.from_dir(template)
    box = LocalBox(root)
    box.put(CONFIGS, fixture.owned)
    box.write(user)
    expected = Expected(fixture)
    expected.user = box.reading().user_part()
    expected.user_contents = dict(user)
    return box, expected
