"""One error base class for the ``workorders`` package, and the few kinds the API maps to HTTP.

Each subclass carries a stable machine-readable ``code`` (it becomes ``error.code`` in the
JSON error body) and, for validation errors, the ``field`` that was wrong.
"""

from __future__ import annotations


class WorkOrderError(Exception):
    """Base class of every error raised by the work-order service."""

    code = "internal"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(WorkOrderError):
    """A request body, header or query value is missing or not acceptable."""

    code = "invalid"


class MalformedRequest(WorkOrderError):
    """The request cannot be read at all (not JSON, not an object, missing header)."""

    code = "bad_request"


class NotFound(WorkOrderError):
    """The named order (or other object) does not exist."""

    code = "not_found"


class Conflict(WorkOrderError):
    """The request contradicts stored state (e.g. an idempotency key reused for another body)."""

    code = "conflict"


class Unauthorized(WorkOrderError):
    """No bearer token, or a token the store does not know."""

    code = "unauthorized"


class Forbidden(WorkOrderError):
    """A known token whose role may not use this route."""

    code = "forbidden"


class TooManyRequests(WorkOrderError):
    """Too many failed attempts (e.g. console logins); try again later."""

    code = "too_many_requests"


class StoreUnavailable(WorkOrderError):
    """The database could not be reached or refused the operation for operational reasons."""

    code = "unavailable"


class SequenceExhausted(WorkOrderError):
    """More than 99999 orders in one day: the order-number format has no room left."""

    code = "unavailable"


class StoreConfigError(WorkOrderError):
    """The database URL names something the store cannot use (unknown backend, in-memory)."""

    code = "configuration"
