"""SSM's JSON wire format for the four Run Command targets we implement ourselves.

Answers are shaped so an unmodified boto3 client parses them: epoch-number timestamps, except
`GetCommandInvocation`'s ISO `ExecutionStartDateTime`/`ExecutionEndDateTime` strings; modelled
errors as HTTP 400 `{"__type", "message"}`. Everything is validated before a command is queued.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reference.aws.ssm_instances import describe_instance_information
from reference.aws.ssm_state import (
    PLUGIN_NAME,
    RUN_SHELL_SCRIPT,
    Command,
    Invocation,
    SsmError,
    SsmState,
)
from reference.aws.wire import Answer, error, offset
from reference.box.limits import LIST_OUTPUT_CAP_CHARS

TARGET_PREFIX = "AmazonSSM."
MAX_EXECUTION_TIMEOUT_S = 172_800


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SsmWire:
    """Maps `X-Amz-Target: AmazonSSM.<Op>` requests onto `SsmState`."""

    READS = frozenset(
        {"GetCommandInvocation", "ListCommandInvocations", "DescribeInstanceInformation"}
    )

    def __init__(self, state: SsmState) -> None:
        self.state = state
        self.handlers: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "SendCommand": self.send_command,
            "GetCommandInvocation": self.get_command_invocation,
            "ListCommandInvocations": self.list_command_invocations,
            "DescribeInstanceInformation": lambda request: describe_instance_information(
                state, request
            ),
        }

    def handles(self, target: str) -> bool:
        return target.startswith(TARGET_PREFIX) and target[len(TARGET_PREFIX) :] in self.handlers

    def answer(self, target: str, body: bytes) -> Answer:
        operation = target[len(TARGET_PREFIX) :]
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return error("SerializationException", "request body is not JSON")
        if not isinstance(request, dict):
            return error("SerializationException", "request body is not a JSON object")
        try:
            return self.handlers[operation](request)
        except SsmError as exc:
            return error(exc.code, exc.message)

    # --- SendCommand ---

    def send_command(self, request: dict[str, Any]) -> Answer:
        document = request.get("DocumentName")
        if document != RUN_SHELL_SCRIPT:
            return error(
                "InvalidDocument",
                f"document {document!r} is not supported here; use {RUN_SHELL_SCRIPT}",
            )
        if request.get("Targets"):
            return error("ValidationException", "Targets are not supported; pass InstanceIds")
        instance_ids = request.get("InstanceIds") or []
        if not isinstance(instance_ids, list) or not instance_ids:
            return error("ValidationException", "InstanceIds must name at least one instance")
        if len(instance_ids) > 50:
            return error("ValidationException", "at most 50 InstanceIds per command")
        parameters = request.get("Parameters") or {}
        if not isinstance(parameters, dict):
            return error("InvalidParameters", "Parameters must be a map of string lists")
        commands = parameters.get("commands")
        if (
            not isinstance(commands, list)
            or not commands
            or not all(isinstance(c, str) for c in commands)
        ):
            return error("InvalidParameters", "Parameters.commands must be a non-empty string list")
        unknown = set(parameters) - {"commands", "executionTimeout", "workingDirectory"}
        if unknown:
            return error("InvalidParameters", f"unknown parameters {sorted(unknown)}")
        timeout_raw = (parameters.get("executionTimeout") or ["3600"])[0]
        try:
            timeout_s = int(timeout_raw)
        except (TypeError, ValueError):
            timeout_s = -1
        if not 1 <= timeout_s <= MAX_EXECUTION_TIMEOUT_S:
            return error(
                "InvalidParameters",
                f"executionTimeout must be 1..{MAX_EXECUTION_TIMEOUT_S} seconds, "
                f"got {timeout_raw!r}",
            )
        working_dir = (parameters.get("workingDirectory") or [""])[0] or ""
        if not isinstance(working_dir, str):
            return error("InvalidParameters", "workingDirectory must be a string")
        command = self.state.send_command(
            instance_ids=instance_ids,
            commands=commands,
            parameters=parameters,
            comment=str(request.get("Comment", "")),
            execution_timeout_s=timeout_s,
            working_directory=working_dir,
        )
        return 200, {"Command": self._command(command)}

    def _command(self, command: Command) -> dict[str, Any]:
        return {
            "CommandId": command.command_id,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "Comment": command.comment,
            "ExpiresAfter": command.requested_at + 3600 + command.execution_timeout_s,
            "Parameters": command.parameters,
            "InstanceIds": command.instance_ids,
            "Targets": [],
            "RequestedDateTime": command.requested_at,
            "Status": "Pending",
            "StatusDetails": "Pending",
            "OutputS3Region": "",
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
            "MaxConcurrency": "50",
            "MaxErrors": "0",
            "TargetCount": len(command.instance_ids),
            "CompletedCount": 0,
            "ErrorCount": 0,
            "DeliveryTimedOutCount": 0,
            "ServiceRole": "",
            "NotificationConfig": {},
            "CloudWatchOutputConfig": {
                "CloudWatchLogGroupName": "",
                "CloudWatchOutputEnabled": False,
            },
            "TimeoutSeconds": 3600,
        }

    # --- GetCommandInvocation ---

    def get_command_invocation(self, request: dict[str, Any]) -> Answer:
        command_id, instance_id = request.get("CommandId"), request.get("InstanceId")
        if not isinstance(command_id, str) or not isinstance(instance_id, str):
            return error("ValidationException", "CommandId and InstanceId are required")
        plugin = request.get("PluginName")
        if plugin not in (None, PLUGIN_NAME):
            return error("InvalidPluginName", f"plugin {plugin!r} is not part of this command")
        command, inv = self.state.get_invocation(command_id, instance_id)
        elapsed = (
            (inv.ended_at or inv.started_at) - inv.started_at if inv.started_at is not None else 0.0
        )
        return 200, {
            "CommandId": command.command_id,
            "InstanceId": inv.instance_id,
            "Comment": command.comment,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "PluginName": PLUGIN_NAME,
            "ResponseCode": inv.response_code,
            "ExecutionStartDateTime": iso(inv.started_at),
            "ExecutionElapsedTime": f"PT{elapsed:.3f}S" if inv.started_at is not None else "",
            "ExecutionEndDateTime": iso(inv.ended_at),
            "Status": inv.status,
            "StatusDetails": inv.status_details,
            "StandardOutputContent": inv.stdout,
            "StandardOutputUrl": "",
            "StandardErrorContent": inv.stderr,
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {
                "CloudWatchLogGroupName": "",
                "CloudWatchOutputEnabled": False,
            },
        }

    # --- ListCommandInvocations ---

    def list_command_invocations(self, request: dict[str, Any]) -> Answer:
        command_id = request.get("CommandId")
        instance_id = request.get("InstanceId")
        max_results = request.get("MaxResults", 50)
        if not isinstance(max_results, int) or not 1 <= max_results <= 50:
            return error("ValidationException", "MaxResults must be 1..50")
        start = offset(request.get("NextToken"))
        found = self.state.list_invocations(command_id, instance_id)
        page = found[start : start + max_results]
        details = bool(request.get("Details"))
        answer: dict[str, Any] = {
            "CommandInvocations": [self._invocation(c, i, details) for c, i in page]
        }
        if start + max_results < len(found):
            answer["NextToken"] = str(start + max_results)
        return 200, answer

    def _invocation(self, command: Command, inv: Invocation, details: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "CommandId": command.command_id,
            "InstanceId": inv.instance_id,
            "InstanceName": "",
            "Comment": command.comment,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "RequestedDateTime": command.requested_at,
            "Status": inv.status,
            "StatusDetails": inv.status_details,
            "TraceOutput": "",
            "StandardOutputUrl": "",
            "StandardErrorUrl": "",
            "CommandPlugins": [],
            "ServiceRole": "",
            "NotificationConfig": {},
            "CloudWatchOutputConfig": {
                "CloudWatchLogGroupName": "",
                "CloudWatchOutputEnabled": False,
            },
        }
        if details:
            plugin: dict[str, Any] = {
                "Name": PLUGIN_NAME,
                "Status": inv.status,
                "StatusDetails": inv.status_details,
                "ResponseCode": inv.response_code,
                "Output": (inv.stdout + inv.stderr)[:LIST_OUTPUT_CAP_CHARS],
                "StandardOutputUrl": "",
                "StandardErrorUrl": "",
                "OutputS3Region": "",
                "OutputS3BucketName": "",
                "OutputS3KeyPrefix": "",
            }
            if inv.started_at is not None:
                plugin["ResponseStartDateTime"] = inv.started_at
            if inv.ended_at is not None:
                plugin["ResponseFinishDateTime"] = inv.ended_at
            item["CommandPlugins"] = [plugin]
        return item
