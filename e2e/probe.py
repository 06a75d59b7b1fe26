"""`python -m e2e.probe`: a first run against a new target, reporting what the product's API
description leaves open — before anyone trusts the gate on it.

It creates one workspace (from the template fixture, persisting data), restarts it once the
plain way (no template in the body), and removes it, recording on the way: `/buildinfo`, an
event's shape and the event types seen, how the workspace's instance is tagged and which
lookups find it, SSM registration and a test command, the files API, config.yaml's size after
create and after the plain restart (a stub there is the manual-path bug), and the create→online
and restart→online times. Everything goes to stdout and `reports/probe.json`. Exit code: 0
when the probe ran to its end (findings are reported, not judged), 1 when it could not.
Environment as for the suite (E2E_TARGET, E2E_PLATFORM_URL, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from e2e.harness import settle, triggers
from e2e.harness.cleanup import Cleanup
from e2e.harness.fixture import TemplateFixture
from e2e.harness.gate import GateContext, import_template
from e2e.harness.identity import filters_for
from e2e.harness.report import redact
from e2e.harness.settings import REPO_ROOT, load_run_settings
from e2e.harness.workspace import Workspace
from e2e.targets.session import connect

LOOKUPS = {
    "default (E2E_INSTANCE_FILTERS)": None,
    "tag:WorkspaceId={id}": "tag:WorkspaceId={id}",
    "tag:Name=*{id8}*": "tag:Name=*{id8}*",
}


def _timed(results: dict[str, Any], key: str, fn: Any) -> Any:
    started = time.monotonic()
    try:
        value = fn()
        results[key] = {"ok": True, "seconds": round(time.monotonic() - started, 2)}
        return value
    except Exception as exc:
        results[key] = {"ok": False, "error": redact(f"{type(exc).__name__}: {exc}")[:2000]}
        return None


def _instances(ctx: GateContext, ws: Workspace) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for label, spec in LOOKUPS.items():
        filters = filters_for(spec or ctx.settings.instance_filters, ws.id)
        answer = ctx.aws.ec2.describe_instances(Filters=filters)
        found[label] = [
            {
                "id": i["InstanceId"],
                "state": i["State"]["Name"],
                "tags": {t["Key"]: t["Value"] for t in i.get("Tags", [])},
            }
            for r in answer.get("Reservations", [])
            for i in r.get("Instances", [])
        ]
    return found


def _box(ws: Workspace, box: str) -> dict[str, Any]:
    host = ws.host(box)
    result = host.run("id -un; uname -sr; ls -la /configs | head -n 20", check=False)
    return {
        "ping": host.ping_status(),
        "command": {"status": result.status, "exit": result.exit_code, "stdout": result.stdout},
        "config_yaml_size": int(
            host.run("stat -c %s /configs/config.yaml || echo -1").stdout.strip() or -1
        ),
    }


def probe(out: Path) -> int:
    settings = load_run_settings()
    handle = connect(settings)
    ctx = GateContext(handle.platform, handle.aws, settings, Cleanup())
    results: dict[str, Any] = {"target": settings.target, "run_id": settings.run_id}
    try:
        results["buildinfo"] = _timed(
            results, "buildinfo_call", lambda: handle.platform.buildinfo().model_dump()
        )
        fixture = TemplateFixture.from_dir(settings.template_dir)
        template = _timed(results, "template_import", lambda: import_template(ctx, fixture))
        ws = _timed(
            results,
            "create",
            lambda: Workspace.create(
                ctx.platform,
                ctx.aws,
                settings,
                ctx.cleanup,
                ctx.name("probe"),
                template or "seo-agent",
            ),
        )
        if ws is None:
            return 1
        box = _timed(results, "create_to_online", lambda: settle.wait_stable(ws, "online"))
        events = ws.events.refresh()
        results["event_sample"] = events[0].model_dump(mode="json") if events else None
        results["instances"] = _instances(ctx, ws)
        if box is not None:
            results["box_after_create"] = _timed(results, "ssm", lambda: _box(ws, box.instance_id))
            results["files_api"] = _timed(
                results,
                "files_api_call",
                lambda: [e.model_dump() for e in ctx.platform.list_files(ws.id, "/configs")],
            )
            again = _timed(results, "restart_to_online", lambda: triggers.restart(ws))
            if again is not None:
                results["box_after_plain_restart"] = _box(ws, again.instance_id)
        results["event_types_seen"] = sorted({e.event_type for e in ws.events.refresh()})
    finally:
        _timed(results, "cleanup", ctx.cleanup.run)
        handle.close()
    text = json.dumps(results, indent=2, sort_keys=True, default=str)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    print(redact(text))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.probe", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "probe.json")
    args = parser.parse_args(argv)
    try:
        return probe(args.out)
    except Exception as exc:
        print(f"probe: {redact(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
