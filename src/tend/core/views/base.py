"""What every organization page shares: the permission decorator and small view helpers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tend.core.actors import Actor
from tend.core.errors import NotFound, PermissionDenied, TendError, ValidationFailed
from tend.core.models import Tenant

View = Callable[..., HttpResponse]


def require_perm(*permissions: str) -> Callable[[View], View]:
    """Let the view run only for members holding every one of `permissions`.

    Use on views under `/o/<org_slug>/`, where the tenant middleware has already resolved the
    membership (non-members got a 404 there). Anyone else gets a 403 page. Service errors the
    view lets through become pages with their status: `NotFound` a 404, `PermissionDenied` a
    403, the rest (validation, conflicts) the error page with the error's 4xx status.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            actor: Actor | None = getattr(request, "actor", None)
            if actor is None or getattr(request, "tenant", None) is None:
                raise Http404
            if not all(actor.has_perm(p) for p in permissions):
                raise DjangoPermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(exc.message) from None
            except TendError as exc:
                return render(request, "web/error.html", {"error": exc}, status=exc.status)

        wrapped.required_permissions = permissions  # type: ignore[attr-defined]
        return wrapped

    return decorator


def tenant_and_actor(request: HttpRequest) -> tuple[Tenant, Actor]:
    """The organization and the acting member the tenant middleware put on a request under
    `/o/<org_slug>/` (views behind `require_perm` always have both)."""
    return request.tenant, request.actor  # type: ignore[attr-defined]


def form_post(request: HttpRequest, act: Callable[[], HttpResponse]
              ) -> tuple[HttpResponse | None, dict[str, list[str]]]:
    """Run a page form's `act` (call the service, return where to go next) when the request
    is a POST: `(its response, {})` when it worked; `(None, field errors)` when the service
    refused the input — show the page again with them and status `form_status(errors)`. A
    GET: `(None, {})`."""
    if request.method != "POST":
        return None, {}
    try:
        return act(), {}
    except ValidationFailed as exc:
        return None, {k: [str(m) for m in v] for k, v in exc.fields.items()} or {
            "": [exc.message]}


def form_status(errors: dict[str, list[str]]) -> int:
    """422 when a form came back with errors, else 200."""
    return 422 if errors else 200


def posted_whole_numbers(request: HttpRequest, keys: tuple[str, ...]) -> dict[str, Any]:
    """Form fields meant as whole numbers: an int where the text is one (a leading minus
    kept, so the service can say it is out of range), the text as given otherwise (the
    service names the error)."""
    data: dict[str, Any] = {}
    for key in keys:
        raw = request.POST.get(key, "").strip()
        data[key] = int(raw) if raw.lstrip("-").isdecimal() and raw.count("-") <= 1 else raw
    return data


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def apply_errors(form: forms.Form, exc: TendError, *, field_map: dict[str, str] | None = None
                 ) -> None:
    """Put a service error's field messages next to the form's fields; the rest on top."""
    field_map = field_map or {}
    placed = False
    for name, messages in exc.fields.items():
        target = field_map.get(name, name)
        for message in messages:
            if target in form.fields:
                form.add_error(target, message)
            else:
                form.add_error(None, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)
