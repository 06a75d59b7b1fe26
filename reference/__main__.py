"""`python -m reference serve`: run the whole reference stack until SIGINT/SIGTERM, or until the
process that started it ends (`--outlive-parent`: not then).

With `--json` the first stdout line is one JSON object with the URLs and credentials
(docs/contract.md); otherwise a human-readable summary. Shutdown stops the platform, kills and
reaps every box, then closes the AWS endpoint: no process is left behind. Every launcher gets
that without doing anything: a bench or test killed mid-run leaves no stack behind.

`python -m reference forkserver` imports the stack once and forks a warm stack per request
(reference/forkserver.py): how a test session starts a dozen stacks without paying the imports
a dozen times.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reference")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the reference stack on loopback")
    serve.add_argument("--json", action="store_true", help="print one JSON line with URLs")
    serve.add_argument("--state-dir", type=Path, help="where boxes, volumes and the DB live")
    serve.add_argument("--faults", help="comma list of fault switches (REFERENCE_FAULTS)")
    serve.add_argument("--backend", choices=("saas", "docker"), help="REFERENCE_BACKEND")
    serve.add_argument("--no-platform", action="store_true", help="AWS endpoint and fleet only")
    serve.add_argument(
        "--outlive-parent",
        action="store_true",
        help="keep running after the process that started this one ends (default: stop then)",
    )
    serve.add_argument("--log-level", default=os.environ.get("REFERENCE_LOG_LEVEL", "WARNING"))
    fork = sub.add_parser("forkserver", help="fork warm stacks on request (JSON lines)")
    fork.add_argument(
        "--listen-fd", type=int, required=True, help="a listening Unix socket for the requests"
    )
    fork.add_argument("--log-level", default=os.environ.get("REFERENCE_LOG_LEVEL", "WARNING"))
    return parser


def serve(args: argparse.Namespace, parent_pid: int) -> int:
    from reference.runner import run_stack

    env = dict(os.environ)
    if args.state_dir is not None:
        env["REFERENCE_STATE_DIR"] = str(args.state_dir)
    if args.faults is not None:
        env["REFERENCE_FAULTS"] = args.faults
    if args.backend is not None:
        env["REFERENCE_BACKEND"] = args.backend

    def announce(info: dict[str, str]) -> None:
        if args.json:
            print(json.dumps(info), flush=True)
            return
        print("reference stack running (Ctrl-C stops it)")
        for key, value in info.items():
            print(f"  {key}: {value}")
        sys.stdout.flush()

    return run_stack(
        env,
        announce,
        with_platform=not args.no_platform,
        parent_pid=None if args.outlive_parent else parent_pid,
    )


def main(argv: list[str] | None = None) -> int:
    # First thing: whoever started us. (One that ended before this line ran goes unnoticed: we
    # were re-parented already. That window is the interpreter's start-up, ~50 ms.)
    parent_pid = os.getppid()
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        return serve(args, parent_pid)
    if args.command == "forkserver":
        from reference.forkserver import main as forkserver_main

        return forkserver_main(args.listen_fd, parent_pid)
    return 2


if __name__ == "__main__":
    sys.exit(main())
