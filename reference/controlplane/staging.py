"""What the control plane stages for a box: the config secret, byte for byte.

The provision request carries `config_files` as base64 of the raw bytes; the secret
`molecule/workspace/<id>/config` holds them as a flat JSON map `{relpath: base64}` (one live
secret seen in the product held a flat map). Secrets Manager keeps at most 64 KiB per value,
which moto does not enforce: a set that does not fit is refused (the tenant then sees only
WORKSPACE_PROVISION_FAILED). The normalisation faults — text-mode copies, dropped empty or
non-ASCII files — live here, where the bytes are handled.
"""

from __future__ import annotations

import base64
import binascii
import json

from reference import faults
from reference.common.errors import ProvisionRefused

MAX_SECRET_BYTES = 64 * 1024


def secret_id_for(workspace_id: str) -> str:
    return f"molecule/workspace/{workspace_id}/config"


def decode_files(config_files: dict[str, str]) -> dict[str, bytes]:
    """The request's map, decoded; a value that is not base64 is refused naming its path."""
    files: dict[str, bytes] = {}
    for rel, value in config_files.items():
        try:
            files[rel] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProvisionRefused(
                f"config_files[{rel!r}] is not base64 ({exc})", status=400, file=rel
            ) from exc
    return files


def apply_faults(files: dict[str, bytes], active: frozenset[str]) -> dict[str, bytes]:
    """The normalisation product faults, each one deviation from byte-exact staging."""
    out: dict[str, bytes] = {}
    for rel, data in files.items():
        if faults.is_on(active, faults.DROP_EMPTY_FILES) and not data:
            continue
        if faults.is_on(active, faults.DROP_NON_ASCII_NAMES) and not rel.isascii():
            continue
        if faults.is_on(active, faults.NORMALISE_NEWLINES):
            data = data.replace(b"\r\n", b"\n")
        if faults.is_on(active, faults.ADD_FINAL_NEWLINE) and data and not data.endswith(b"\n"):
            data += b"\n"
        out[rel] = data
    return out


def secret_payload(files: dict[str, bytes]) -> str:
    return json.dumps(
        {rel: base64.b64encode(data).decode("ascii") for rel, data in files.items()},
        sort_keys=True,
    )


def check_size(workspace_id: str, payload: str) -> None:
    size = len(payload.encode())
    if size > MAX_SECRET_BYTES:
        raise ProvisionRefused(
            f"config secret for workspace {workspace_id} would be {size} bytes, over the "
            f"{MAX_SECRET_BYTES}-byte Secrets Manager limit",
            status=413,
            size=size,
        )
