"""Typed domain errors.

Every refusal the product makes is one of these. The web layer maps them to an HTTP
status and a JSON body ``{"error": {"code", "field", "message", "details"}}``; the CLI
prints the message. Codes are stable machine identifiers (snake_case, English);
messages are zh-CN sentences a clerk can act on. Messages never contain personal data.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: a refusal with a stable code, an optional field and a human message."""

    status: int = 400

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    """A field's value is wrong (type, format, checksum, range, rule-pack limit)."""

    status = 422


class MalformedRequest(DomainError):
    """The request body cannot be parsed at all."""

    status = 400


class NotAuthenticated(DomainError):
    """No valid credentials (missing, wrong, expired or revoked)."""

    status = 401


class PermissionDenied(DomainError):
    """Authenticated, but the role does not allow this action."""

    status = 403


class NotFound(DomainError):
    """Unknown object — also the answer for another tenant's object."""

    status = 404


class Conflict(DomainError):
    """The action clashes with the current state (illegal transition, duplicate, final)."""

    status = 409


class TooManyRequests(DomainError):
    """Refused for now: too many attempts (login throttling). ``retry_after`` in seconds."""

    status = 429

    def __init__(self, code: str, message: str, *, retry_after: int, **details: Any) -> None:
        super().__init__(code, message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class PluginFailure(DomainError):
    """A sector plugin raised; the message names the plugin."""

    status = 502
