"""Domain errors: each carries a message a person can act on; none leaks internals."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation. `message` is safe to show the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing named does not exist in this workspace (or the user may not see it)."""


class PermissionDenied(DomainError):
    """The acting user may not do this; the message says who may."""


class Conflict(DomainError):
    """The change clashes with existing data (a duplicate name or key, a stale edit)."""


class ValidationFailed(DomainError):
    """Input broke a rule. `field_errors` maps field name -> message, for inline errors."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}
