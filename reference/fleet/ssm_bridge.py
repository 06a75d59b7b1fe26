"""Between the fleet's boxes and SSM's state: what a box reports (a command acknowledged,
started, done; the box ready or ended) becomes SSM state, and a command SSM wants run goes to
its box. Events arrive on each box's reader thread."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from reference.aws.faults import SsmDelays
from reference.aws.ssm_state import Command, SsmState

if TYPE_CHECKING:
    from reference.fleet.fleet import Box

log = logging.getLogger(__name__)


class SsmBridge:
    def __init__(self, boxes: dict[str, Box], ssm: SsmState, delays: SsmDelays) -> None:
        self.boxes = boxes  # the fleet's own dict: read, never changed here
        self.ssm = ssm
        self.delays = delays

    def on_event(self, instance_id: str, event: dict[str, Any]) -> None:
        kind = event.get("ev")
        box = self.boxes.get(instance_id)
        if kind == "ack":
            self.ssm.picked_up(event["id"], instance_id)
        elif kind == "started":
            self.ssm.started(event["id"], instance_id, float(event["t"]))
        elif kind == "done":
            self.ssm.finished(
                event["id"],
                instance_id,
                int(event["code"]),
                bool(event["timed_out"]),
                str(event["stdout"]),
                str(event["stderr"]),
                float(event["t_start"]),
                float(event["t_end"]),
            )
        elif kind == "ready":
            if box is not None:
                box.online = True
                self.ssm.instance_online(instance_id, box.private_ip)
                log.info("box %s: online", instance_id)
        elif kind == "agent-exit":
            if box is not None:
                box.agent_exit = int(event["code"])
            log.info("box %s: boot/agent exited with %s", instance_id, event["code"])
        elif kind == "ended":
            if box is not None:
                box.ended = True
            self.ssm.instance_lost(instance_id)
        elif kind == "error":
            log.warning("box %s: %s", instance_id, event.get("error"))

    def dispatch(self, command: Command, instance_id: str) -> bool:
        box = self.boxes.get(instance_id)
        if box is None or box.ended or not box.online:
            return False
        return box.process.send(
            {
                "op": "run",
                "id": command.command_id,
                "commands": list(command.commands),
                "cwd": command.working_directory,
                "timeout": command.execution_timeout_s,
                "ack_delay": self.delays.hidden_s,
                "start_delay": self.delays.pending_s,
            }
        )
