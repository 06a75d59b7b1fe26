"""What the sweeper may talk to, checked before it talks to anything.

The platform (and, with `--orgs`, the control plane) URL's host must be one of
`E2E_SWEEP_ALLOWED_HOSTS` (comma-separated; `host`, `host:port` or `*.domain`): a sweeper
pointed at the wrong tenant by a mistyped secret must stop, not delete there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOWED_HOSTS_ENV = "E2E_SWEEP_ALLOWED_HOSTS"
PLATFORM_ENV = ("E2E_PLATFORM_URL", "E2E_ADMIN_TOKEN", "E2E_ORG_ID")
CP_ENV = ("E2E_CP_URL", "E2E_CP_ADMIN_TOKEN")


class ConfigError(ValueError):
    """Bad configuration: exit 2, nothing was called."""


def host_of(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not an http(s) URL: {_shown(url)}")
    return parts.hostname.lower(), parts.port


def _shown(url: str) -> str:
    """A URL without userinfo, query or fragment, for an error message."""
    parts = urlsplit(url.strip())
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def allowed(url: str, allow_list: str) -> bool:
    host, port = host_of(url)
    for entry in (e.strip().lower() for e in allow_list.split(",")):
        if not entry:
            continue
        name, _, want_port = entry.partition(":")
        if want_port and str(port) != want_port:
            continue
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


@dataclass(frozen=True)
class Endpoint:
    url: str
    token: str
    org_id: str = ""

    @property
    def host(self) -> str:
        host, port = host_of(self.url)
        return f"{host}:{port}" if port else host


def endpoint(env: Mapping[str, str], orgs: bool) -> Endpoint:
    """The platform (or control plane) to sweep, from env, its host on the allow-list."""
    names = CP_ENV if orgs else PLATFORM_ENV
    missing = [n for n in names if not env.get(n)]
    if missing:
        what = "the control plane (--orgs)" if orgs else "the platform to sweep"
        raise ConfigError(f"set {', '.join(missing)} ({what})")
    url = env[names[0]].rstrip("/")
    allow_list = env.get(ALLOWED_HOSTS_ENV, "")
    if not allowed(url, allow_list):
        host = host_of(url)[0]
        listed = allow_list.strip() or "(not set)"
        raise ConfigError(
            f"{host} is not in {ALLOWED_HOSTS_ENV}={listed}: refusing to sweep a host that "
            "was not named as sweepable"
        )
    return Endpoint(url, env[names[1]], "" if orgs else env[PLATFORM_ENV[2]])
