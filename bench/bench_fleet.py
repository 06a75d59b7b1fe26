"""Benchmark of the AWS side of the reference stack (not a test: it measures, it does not judge).

Runs `python -m reference serve --json` as a subprocess (the whole stack), provisions boxes with
boto3 exactly like the control plane does, and has them register with a small recording
registry in this process. Measures:

- launch → registered: RunInstances+AttachVolume until the agent's POST /registry/register, on a
  quiet fleet (each box terminated after it registered), and again while filling up to N boxes;
- SSM round trip: send_command → GetCommandInvocation says Success with the output;
- with N boxes alive at once: every box answers a command; the stack's process tree RSS/PSS.

    .venv/bin/python bench/bench_fleet.py [--launches 20] [--round-trips 50] [--boxes 50]

Writes JSON to reports/bench/fleet.json (budget: launch median ≤ 0.3 s, SSM median ≤ 0.1 s,
50 boxes within 1.5 GiB RSS) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parent.parent
CONFIG = {
    "config.yaml": "name: bench\nrole: benchmark\nprompt_files:\n  - prompts/system.md\n",
    "prompts/system.md": "You are a benchmark.\n" * 50,
}


class Registrations:
    """A recording `/registry/*` server: when did each workspace register?"""

    def __init__(self) -> None:
        self.registered: dict[str, float] = {}
        self.heartbeats = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _ok(self, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._ok([])

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)))
                now = time.monotonic()
                with owner.lock:
                    if self.path.endswith("/register"):
                        owner.registered.setdefault(body["id"], now)
                    elif self.path.endswith("/heartbeat"):
                        owner.heartbeats += 1
                self._ok({"status": "ok"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, workspace_id: str, timeout_s: float = 30) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if workspace_id in self.registered:
                    return self.registered[workspace_id]
            time.sleep(0.002)
        raise TimeoutError(f"{workspace_id} did not register within {timeout_s}s")


def tree_memory(root_pid: int) -> dict[str, float]:
    """RSS and PSS (MiB) summed over a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    pids, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, []))
    rss = pss = 0
    root_rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                        root_rss += int(line.split()[1]) if pid == root_pid else 0
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return {
        "processes": len(pids),
        "rss_mib": rss / 1024,
        "pss_mib": pss / 1024,
        "stack_process_rss_mib": root_rss / 1024,
        "boxes_rss_mib": (rss - root_rss) / 1024,
    }


class Bench:
    def __init__(self, info: dict[str, Any], registry: Registrations) -> None:
        kw = {
            "endpoint_url": info["aws_endpoint_url"],
            "region_name": info["region"],
            "aws_access_key_id": info["aws_access_key_id"],
            "aws_secret_access_key": info["aws_secret_access_key"],
        }
        self.region = info["region"]
        self.ec2 = boto3.client("ec2", **kw)
        self.sm = boto3.client("secretsmanager", **kw)
        self.ssm = boto3.client("ssm", **kw)
        self.registry = registry
        self.instances: list[str] = []

    def prepare(self) -> tuple[str, str]:
        """Secret and volume, made before the clock starts (the CP does this before launch)."""
        ws = str(uuid.uuid4())
        self.sm.create_secret(
            Name=f"molecule/workspace/{ws}/config",
            SecretString=json.dumps({"config_files": CONFIG}),
        )
        volume = self.ec2.create_volume(Size=1, AvailabilityZone=self.region + "a")["VolumeId"]
        return ws, volume

    def launch(self, ws: str, volume: str) -> str:
        user_data = {
            "workspace_id": ws,
            "secret_id": f"molecule/workspace/{ws}/config",
            "platform_url": self.registry.url,
            "workspace_token": "bench",
            "backend": "saas",
            "env": {},
        }
        tags = {"Role": "workspace", "WorkspaceId": ws, "DataVolumeId": volume, "Generation": "1"}
        iid = self.ec2.run_instances(
            ImageId="ami-00000000",
            MinCount=1,
            MaxCount=1,
            UserData=json.dumps(user_data),
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
        )["Instances"][0]["InstanceId"]
        self.ec2.attach_volume(VolumeId=volume, InstanceId=iid, Device="/dev/sdf")
        self.instances.append(iid)
        return str(iid)

    def round_trip(self, iid: str, script: str = "sha256sum /configs/config.yaml") -> float:
        started = time.monotonic()
        command_id = self.ssm.send_command(
            InstanceIds=[iid], DocumentName="AWS-RunShellScript", Parameters={"commands": [script]}
        )["Command"]["CommandId"]
        while True:
            try:
                inv = self.ssm.get_command_invocation(CommandId=command_id, InstanceId=iid)
            except self.ssm.exceptions.InvocationDoesNotExist:
                time.sleep(0.002)
                continue
            if inv["Status"] == "Success" and inv["StandardOutputContent"]:
                return time.monotonic() - started
            if inv["Status"] not in ("Pending", "InProgress", "Delayed"):
                raise RuntimeError(f"command on {iid} ended {inv['Status']}: {inv}")
            time.sleep(0.002)


def summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_s": statistics.median(values),
        "p90_s": ordered[int(0.9 * (len(ordered) - 1))],
        "max_s": ordered[-1],
        "all_s": [round(v, 4) for v in values],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--launches", type=int, default=20)
    parser.add_argument("--round-trips", type=int, default=50)
    parser.add_argument("--boxes", type=int, default=50)
    parser.add_argument("--no-platform", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench" / "fleet.json")
    args = parser.parse_args()

    registry = Registrations()
    cmd = [sys.executable, "-m", "reference", "serve", "--json"]
    if args.no_platform:
        cmd.append("--no-platform")
    load_before = os.getloadavg()
    serve = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE)
    assert serve.stdout is not None
    info = json.loads(serve.stdout.readline())
    result: dict[str, Any] = {"cpus": os.cpu_count(), "loadavg_before": load_before}
    try:
        bench = Bench(info, registry)
        # warm-up: first boto3 calls and first box
        ws, volume = bench.prepare()
        bench.launch(ws, volume)
        registry.wait_for(ws)

        # launch → registered on a quiet fleet: each box is terminated once it registered
        launches = []
        for _ in range(args.launches):
            ws, volume = bench.prepare()
            started = time.monotonic()
            iid = bench.launch(ws, volume)
            launches.append(registry.wait_for(ws) - started)
            bench.ec2.terminate_instances(InstanceIds=[iid])
            bench.instances.remove(iid)
        result["launch_to_registered"] = summary(launches)

        first = bench.instances[0]
        result["ssm_round_trip"] = summary(
            [bench.round_trip(first) for _ in range(args.round_trips)]
        )

        # fill up to N boxes; these launches happen while more and more boxes heartbeat
        filling = []
        while len(bench.instances) < args.boxes:
            ws, volume = bench.prepare()
            started = time.monotonic()
            bench.launch(ws, volume)
            filling.append(registry.wait_for(ws) - started)
        result["launch_to_registered_while_filling"] = summary(filling)
        time.sleep(1.0)  # let every agent settle into its heartbeat loop before measuring
        answered = 0
        for iid in bench.instances:
            bench.round_trip(iid, "echo alive")
            answered += 1
        result["boxes_alive"] = len(bench.instances)
        result["boxes_answered_ssm"] = answered
        result["ssm_round_trip_with_all_boxes"] = summary(
            [bench.round_trip(first) for _ in range(args.round_trips)]
        )
        result["stack_memory_with_all_boxes"] = tree_memory(serve.pid)
        result["heartbeats_received"] = registry.heartbeats
        result["loadavg_after"] = os.getloadavg()
    finally:
        serve.send_signal(signal.SIGTERM)
        result["serve_exit_code"] = serve.wait(60)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    short = {
        "launch_to_registered_median_s": result["launch_to_registered"]["median_s"],
        "launch_to_registered_while_filling_median_s": (
            result["launch_to_registered_while_filling"]["median_s"]
        ),
        "ssm_round_trip_median_s": result["ssm_round_trip"]["median_s"],
        "ssm_round_trip_with_all_boxes_median_s": result["ssm_round_trip_with_all_boxes"][
            "median_s"
        ],
        "boxes_alive": result["boxes_alive"],
        "boxes_answered_ssm": result["boxes_answered_ssm"],
        "stack_rss_mib": round(result["stack_memory_with_all_boxes"]["rss_mib"], 1),
        "stack_pss_mib": round(result["stack_memory_with_all_boxes"]["pss_mib"], 1),
        "loadavg_before": load_before,
    }
    print(json.dumps(short, indent=2))
    print(f"full results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
