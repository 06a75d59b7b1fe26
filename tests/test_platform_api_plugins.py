"""Plugin install on a real reference stack, as the product does it on SaaS
(plugins_install.go, plugins_install_pipeline.go:332-345, plugins_listing.go): 200 with the
install, then an automatic restart (a fresh box that boot-installs it), no plugin event, `[]`
from the listing; a second install inside the restart window gets no second cycle."""

from __future__ import annotations

from support import product_samples as s
from support.tenant_api import Tenant, stays

from e2e.harness import product
from e2e.harness.product import parse

pytest_plugins = ["support.stack_fixtures"]


def test_an_install_answers_then_one_automatic_restart_and_a_second_is_dropped(
    slow_api: Tenant,
) -> None:
    api = slow_api  # restart window 30 s: the whole test runs inside it
    ws_id = api.create("plugged")["id"]
    api.settled(ws_id, 1)
    [first_box] = api.running(ws_id)

    installed = api.ok("POST", f"/workspaces/{ws_id}/plugins", json={"source": "local://seo-all"})
    parse(product.PluginInstalled, installed, "POST /workspaces/:id/plugins")
    assert installed == {"status": "installed", "plugin": "seo-all", "source": "local://seo-all"}
    assert set(installed) == set(s.PLUGIN_INSTALLED)

    kinds = api.settled(ws_id, 2)
    assert kinds == ["WORKSPACE_PROVISIONING", "WORKSPACE_ONLINE"] * 2  # no plugin event
    [second_box] = api.running(ws_id)
    assert second_box != first_box
    assert api.ok("GET", f"/workspaces/{ws_id}/plugins") == []  # SaaS at f9f718f9
    files = api.ok("GET", f"/workspaces/{ws_id}/files", params={"path": "plugins/seo-all"})
    assert "SKILL.md" in {f["path"] for f in files}  # the fresh box boot-installed it

    again = api.ok("POST", f"/workspaces/{ws_id}/plugins", json={"source": "seo-all"})
    assert again == {"status": "installed", "plugin": "seo-all", "source": "seo-all"}
    stays(
        "no second cycle inside the window",
        lambda: (api.kinds(ws_id).count("WORKSPACE_PROVISIONING"), api.running(ws_id)),
        lambda seen: seen == (2, [second_box]),
        for_s=1.5,
    )
    assert api.row(ws_id)["status"] == "online"


def test_an_unpinned_or_empty_source_is_refused_before_anything_happens(api: Tenant) -> None:
    ws_id = api.create("refused-plugins", template="over-cap")["id"]  # no box needed
    api.wait_status(ws_id, "failed")
    unpinned = api.call("POST", f"/workspaces/{ws_id}/plugins", json={"source": "github://o/r"})
    assert unpinned.status_code == 422
    assert unpinned.json()["source"] == "github://o/r"
    assert unpinned.json()["error"].startswith("unpinned plugin source")
    empty = api.call("POST", f"/workspaces/{ws_id}/plugins", json={"source": ""})
    assert empty.status_code == 400 and empty.json()["error"].startswith("'source' is required")
    no_box = api.call("POST", f"/workspaces/{ws_id}/plugins", json={"source": "seo-all"})
    assert (no_box.status_code, no_box.json()) == (
        503,
        {"error": "workspace container not running"},
    )
    assert api.kinds(ws_id) == ["WORKSPACE_PROVISIONING", "WORKSPACE_PROVISION_FAILED"]
