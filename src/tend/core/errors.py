"""Errors services raise; the API and UI turn them into 4xx answers with field messages."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class TendError(Exception):
    """Base for expected, user-facing errors."""

    status = 400
    code = "bad_request"
    # Used when the raiser gives no message; translated into the language active at raise time.
    default_message: str | Promise = _("This cannot be done.")

    def __init__(self, message: str = "", *, fields: dict[str, list[str]] | None = None,
                 **extra: Any) -> None:
        super().__init__(message or str(self.default_message))
        self.message = message or str(self.default_message)
        self.fields = fields or {}
        self.extra = extra


class ValidationFailed(TendError):
    """The input is not valid."""

    status = 422
    code = "validation_failed"
    default_message = _("The input is not valid.")


class PermissionDenied(TendError):
    """You do not have permission to do this."""

    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class NotFound(TendError):
    """Not found."""

    status = 404
    code = "not_found"
    default_message = _("Not found.")


class Conflict(TendError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"
    default_message = _("The request conflicts with the current state.")
