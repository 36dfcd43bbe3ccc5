"""Errors services raise; the API and UI turn them into 4xx answers with field messages."""

from __future__ import annotations

from typing import Any


class TendError(Exception):
    """Base for expected, user-facing errors."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", *, fields: dict[str, list[str]] | None = None,
                 **extra: Any) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.fields = fields or {}
        self.extra = extra


class ValidationFailed(TendError):
    """The input is not valid."""

    status = 422
    code = "validation_failed"


class PermissionDenied(TendError):
    """You do not have permission to do this."""

    status = 403
    code = "permission_denied"


class NotFound(TendError):
    """Not found."""

    status = 404
    code = "not_found"


class Conflict(TendError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"
