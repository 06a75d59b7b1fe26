"""What the product accepts as a template's delivered set, checked before anything is made.

The product's tenant caps `config_files` at 256 KiB of raw bytes in total (no per-file cap)
and says no more than WORKSPACE_PROVISION_FAILED {"error": "provisioning failed"} when a set is
over it. So the harness names the files and sizes itself, before it imports or creates
anything, instead of letting a run fail minutes later with that one line.
"""

from __future__ import annotations

from e2e.harness.fixture import TemplateFixture

CONFIG_FILES_CAP = 256 * 1024  # cpConfigFilesMaxBytes


class TemplateTooLarge(AssertionError):
    pass


def check_caps(fixture: TemplateFixture, cap: int = CONFIG_FILES_CAP) -> None:
    owned = fixture.owned
    total = sum(len(data) for data in owned.values())
    if total <= cap:
        return
    largest = sorted(owned.items(), key=lambda kv: len(kv[1]), reverse=True)[:3]
    names = ", ".join(f"{rel} ({len(data)} bytes)" for rel, data in largest)
    raise TemplateTooLarge(
        f"template fixture: its config.yaml and prompts/** total {total} bytes in "
        f"{len(owned)} files, over the product's {cap}-byte config_files cap; largest: {names}"
    )
