"""Refusals of the control plane: each names what was wrong and where (template, file, size)."""

from __future__ import annotations


class ProvisionRefused(Exception):
    """A provision request the CP will not carry out; nothing has been created when it is raised.

    `status` is the HTTP code the CP answers with (422 invalid, 413 too large, 404 unknown).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 422,
        template: str | None = None,
        file: str | None = None,
        size: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.template = template
        self.file = file
        self.size = size

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.message}
        for key in ("template", "file", "size"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body
