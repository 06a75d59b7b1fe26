"""Every retry the harness makes, counted, so a run that only passed by retrying says so.

Platform retries are attributed to the workspace whose id is in the path; AWS retries (botocore's
own, read from each answer's `ResponseMetadata.RetryAttempts`) to the workspace whose box the
call named, once the harness has bound that instance to its workspace; the rest to "-".
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

UNATTRIBUTED = "-"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class RetryLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.http: Counter[str] = Counter()
        self.aws: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self._owner: dict[str, str] = {}  # instance id → workspace id

    def bind(self, instance_id: str, workspace_id: str) -> None:
        with self._lock:
            self._owner[instance_id] = workspace_id

    def record_http(self, path: str, reason: str) -> None:
        found = _UUID.search(path)
        with self._lock:
            self.http[found.group(0) if found else UNATTRIBUTED] += 1
            self.reasons[f"http {reason}"] += 1

    def workspace(self, workspace_id: str) -> None:
        """Attribute lookups by tag (EC2 filters naming the id or its 8-char prefix) too."""
        with self._lock:
            self._owner[workspace_id[:8]] = workspace_id

    def _owner_of(self, params: dict[str, Any]) -> str:
        keys = [*(params.get("InstanceIds") or []), params.get("InstanceId")]
        for key in keys:
            if key in self._owner:
                return self._owner[key]
        for flt in params.get("Filters") or []:
            for value in flt.get("Values") or []:
                if value in self._owner:  # an instance id (SSM's InstanceIds filter)
                    return self._owner[value]
                for prefix, owner in self._owner.items():
                    if len(prefix) == 8 and prefix in str(value):
                        return owner
        return UNATTRIBUTED

    def record_aws(self, operation: str, params: dict[str, Any], attempts: int) -> None:
        if attempts <= 0:
            return
        with self._lock:
            owner = self._owner_of(params)
            self.aws[owner] += attempts
            self.reasons[f"aws {operation}"] += attempts

    def of(self, workspace_id: str) -> tuple[int, int]:
        with self._lock:
            return self.http[workspace_id], self.aws[workspace_id]

    def totals(self) -> tuple[int, int]:
        with self._lock:
            return sum(self.http.values()), sum(self.aws.values())


LEDGER = RetryLedger()


def count_botocore_retries(client: Any) -> Any:
    """Register the after-call hook that feeds the ledger; returns the client."""

    def after_call(http_response: Any, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        attempts = int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)
        params = kwargs.get("context", {}).get("e2e_params", {})
        LEDGER.record_aws(model.name, params, attempts)

    def before_call(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["e2e_params"] = params

    client.meta.events.register("before-parameter-build", before_call)
    client.meta.events.register("after-call", after_call)
    return client
