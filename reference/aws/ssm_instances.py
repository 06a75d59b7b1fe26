"""`DescribeInstanceInformation`: the managed instances and their PingStatus, filtered and
paged like AWS answers them. A filter on instance ids is answered by lookup, not by a scan.
"""

from __future__ import annotations

from typing import Any

from reference.aws.ssm_state import SsmState
from reference.aws.wire import Answer, error, offset

AGENT_VERSION = "3.3.0.0-reference"


def describe_instance_information(state: SsmState, request: dict[str, Any]) -> Answer:
    wanted_ids: set[str] | None = None
    wanted_ping: set[str] | None = None
    for flt in request.get("InstanceInformationFilterList") or []:
        if flt.get("key") == "InstanceIds":
            wanted_ids = set(flt.get("valueSet") or [])
        elif flt.get("key") == "PingStatus":
            wanted_ping = set(flt.get("valueSet") or [])
    for flt in request.get("Filters") or []:
        if flt.get("Key") == "InstanceIds":
            wanted_ids = set(flt.get("Values") or [])
        elif flt.get("Key") == "PingStatus":
            wanted_ping = set(flt.get("Values") or [])
    max_results = request.get("MaxResults", 50)
    if not isinstance(max_results, int) or not 5 <= max_results <= 50:
        return error("ValidationException", "MaxResults must be 5..50")
    items = []
    for inst in state.instances(wanted_ids):
        ping = "Online" if inst.online else "ConnectionLost"
        if wanted_ids is not None and inst.instance_id not in wanted_ids:
            continue
        if wanted_ping is not None and ping not in wanted_ping:
            continue
        items.append(
            {
                "InstanceId": inst.instance_id,
                "PingStatus": ping,
                "LastPingDateTime": inst.last_ping,
                "AgentVersion": AGENT_VERSION,
                "IsLatestVersion": True,
                "PlatformType": "Linux",
                "PlatformName": "Debian GNU/Linux",
                "PlatformVersion": "12",
                "ResourceType": "EC2Instance",
                "IPAddress": inst.ip_address,
                "ComputerName": inst.computer_name,
                "RegistrationDate": inst.registered_at,
                "AssociationStatus": "",
            }
        )
    start = offset(request.get("NextToken"))
    answer: dict[str, Any] = {"InstanceInformationList": items[start : start + max_results]}
    if start + max_results < len(items):
        answer["NextToken"] = str(start + max_results)
    return 200, answer
