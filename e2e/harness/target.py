"""How to reach one platform and its AWS account: built from an embedded stack's announcement,
or from the environment (external, staging). Secrets stay out of repr (reports, logs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(ValueError):
    """A setting is missing or malformed: raised before anything is created."""


@dataclass(frozen=True)
class Target:
    """How to reach one platform + AWS endpoint. Secrets stay out of repr (reports, logs)."""

    kind: str  # embedded | external | staging
    platform_url: str
    admin_token: str
    org_id: str
    region: str
    aws_endpoint_url: str | None = None  # None: real AWS (staging)
    aws_access_key_id: str | None = None  # None: the standard boto3 credential chain
    aws_secret_access_key: str | None = None

    def __repr__(self) -> str:
        return (
            f"Target(kind={self.kind!r}, platform_url={self.platform_url!r}, "
            f"org_id={self.org_id!r}, region={self.region!r}, "
            f"aws_endpoint_url={self.aws_endpoint_url!r})"
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values a report must never show."""
        return tuple(s for s in (self.admin_token, self.aws_secret_access_key) if s)

    @classmethod
    def from_stack_line(cls, info: Mapping[str, object], kind: str = "embedded") -> Target:
        """Build from the embedded stack's first stdout line (docs/contract.md)."""
        try:
            return cls(
                kind=kind,
                platform_url=str(info["platform_url"]).rstrip("/"),
                admin_token=str(info["admin_token"]),
                org_id=str(info["org_id"]),
                region=str(info.get("region") or "us-east-1"),
                aws_endpoint_url=str(info["aws_endpoint_url"]),
                aws_access_key_id=str(info.get("aws_access_key_id") or "testing"),
                aws_secret_access_key=str(info.get("aws_secret_access_key") or "testing"),
            )
        except KeyError as exc:
            raise SettingsError(
                f"stack announcement lacks {exc.args[0]!r}: {sorted(info)}"
            ) from None

    @classmethod
    def from_env(cls, kind: str, env: Mapping[str, str]) -> Target:
        """`external` and `staging`: everything from env; staging keeps boto3's own chain."""
        need = ["E2E_PLATFORM_URL", "E2E_ADMIN_TOKEN", "E2E_ORG_ID"]
        if kind == "external":
            need.append("AWS_ENDPOINT_URL")
        missing = [name for name in need if not env.get(name)]
        if missing:
            raise SettingsError(f"E2E_TARGET={kind} needs {', '.join(missing)} in the environment")
        region = env.get("E2E_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        return cls(
            kind=kind,
            platform_url=env["E2E_PLATFORM_URL"].rstrip("/"),
            admin_token=env["E2E_ADMIN_TOKEN"],
            org_id=env["E2E_ORG_ID"],
            region=region or "us-east-1",
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") if kind == "external" else None,
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") if kind == "external" else None,
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") if kind == "external" else None,
        )
