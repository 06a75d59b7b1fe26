"""A listing is swept only when it is whole: the product answers `GET /workspaces` (and
`/templates`) with a plain array. An answer that looks paginated — an object with a next
cursor, `next`, `has_more`, or a `Link: rel="next"` header — is refused loudly: following a
protocol the product does not have would be guessing, and sweeping the first page alone
would decide "stale" and "idle" on a partial view."""

from __future__ import annotations

from typing import Any

import httpx

from e2e.harness.report import redact

PAGE_KEYS = (
    "next",
    "next_cursor",
    "nextCursor",
    "cursor",
    "has_more",
    "hasMore",
    "next_page",
    "nextPage",
    "next_token",
    "nextToken",
    "next_page_token",
    "nextPageToken",
    "links",
)


class IncompleteListing(RuntimeError):
    """The answer is not the whole list: nothing may be decided from it."""


def whole_list(response: httpx.Response, call: str, key: str | None = None) -> list[Any]:
    """The JSON array of `call`'s answer (or `answer[key]` where the API wraps it, e.g. the CP's
    `{"orgs": [...]}`), refusing anything that may be a page of a longer list."""
    link = response.headers.get("link", "")
    if 'rel="next"' in link or "rel=next" in link:
        raise IncompleteListing(f"{call} answered with a next page (Link: {redact(link)[:200]})")
    try:
        data = response.json()
    except ValueError:
        raise IncompleteListing(
            f"{call} answered no JSON ({redact(response.text)[:200]!r})"
        ) from None
    if isinstance(data, dict):
        markers = sorted(k for k in PAGE_KEYS if _set(data.get(k)))
        if markers:
            raise IncompleteListing(
                f"{call} answered a paginated listing ({', '.join(markers)}): refusing to "
                "sweep a partial list (the product's listing is one array)"
            )
        if key is None or not isinstance(data.get(key), list):
            raise IncompleteListing(
                f"{call} answered an object ({', '.join(sorted(data))}), not the list it gives"
            )
        data = data[key]
    if not isinstance(data, list):
        raise IncompleteListing(f"{call} answered {type(data).__name__}, not a list")
    return data


def _set(value: object) -> bool:
    """A marker that says more pages exist (`has_more: false`, `next: null` say the opposite)."""
    if isinstance(value, dict):
        return any(_set(value.get(k)) for k in ("next", "next_cursor", "nextCursor"))
    return bool(value)
