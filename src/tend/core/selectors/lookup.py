"""Fetching one row by the id a client sent, the same way in every selector."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet

from tend.core.errors import NotFound

M = TypeVar("M", bound=Model)


def one_or_not_found(queryset: QuerySet[M], pk: Any, message: str) -> M:
    """The row of `queryset` (already limited to the tenant) whose primary key is `pk`, else
    NotFound with `message` — also when `pk` is not an id at all (a malformed UUID in a URL
    or a payload), so a bad id reads as a missing one and never as a server error."""
    try:
        row = queryset.filter(pk=pk).first()
    except (DjangoValidationError, ValueError, TypeError):
        row = None
    if row is None:
        raise NotFound(message)
    return row
