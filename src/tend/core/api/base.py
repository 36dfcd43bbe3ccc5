"""Shared machinery of the REST API: authentication, tenant scope, permission checks,
problem+json errors, cursor pagination and `Idempotency-Key` handling.

Every endpoint gets, before its body runs:

- `request.tenant` — the organization, from the API key or from the session
  (`X-Organization: <slug>` header, else the session's current organization);
- `request.actor` — a `tend.core.actors.Actor` with its effective permissions;
- `request.membership` — the member behind it (for a key: its creator's membership);

and the whole operation (auth, body, serialization, error handlers) runs inside
`tenant_scope(request.tenant)`. Endpoints stay thin::

    @router.get("/tags", response=Page[TagOut])
    def tag_list(request, page: Query[PageParams], filters: Query[TagFilter]):
        actor = require(request, "tags.view")
        return paginate(filters.filter(tags_for(tenant=request.tenant, actor=actor)), page)

`install(api)` wires all of this into a `NinjaAPI`; see `tend.api`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from http import HTTPStatus
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, ConfigError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, TendError, ValidationFailed
from tend.core.models import ApiKey, Membership, Tenant
from tend.core.selectors.access import actor_for_request, client_ip, membership_for
from tend.core.services.apikeys import (
    apikey_creator_membership,
    apikey_hash,
    apikey_matches,
    apikey_parse,
    apikey_touch,
)
from tend.core.services.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from tend.core.services.idempotency import (
    idempotency_begin,
    idempotency_finish,
    idempotency_release,
    idempotency_request_hash,
)
from tend.core.tenancy import system_scope, tenant_scope

logger = logging.getLogger("tend.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
ORG_HEADER = "X-Organization"
SESSION_ORG_KEY = "tend_current_org"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
REPLAYED_HEADER = "Idempotent-Replayed"

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "ApiKeyAuth",
    "ApiRequest",
    "Page",
    "PageParams",
    "SessionAuth",
    "install",
    "no_idempotency",
    "paginate",
    "problem_response",
    "require",
    "requires",
]


class ApiRequest(HttpRequest):
    """The request an endpoint receives: annotate `request: ApiRequest` for these attributes."""

    tenant: Tenant
    actor: Actor
    membership: Membership


# --- problem+json ----------------------------------------------------------------------------


def problem_type(code: str) -> str:
    """The `type` URI of a problem: a stable identifier documented in docs/api.md."""
    return f"urn:tend:problem:{code}"


def problem_response(request: HttpRequest, *, status: int, code: str, detail: str = "",
                     title: str = "", errors: Sequence[dict[str, Any]] = (),
                     headers: dict[str, str] | None = None) -> HttpResponse:
    """An RFC 9457 problem document. `errors` holds field-level details
    (`{"field", "loc", "message"}`); empty for problems that are not about one field."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = {
        "type": problem_type(code),
        "title": title or phrase,
        "status": status,
        "detail": detail or title or phrase,
        "instance": request.get_full_path(),
        "code": code,
        "errors": list(errors),
    }
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_errors(fields: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    return [
        {"field": name, "loc": name.split("."), "message": str(message)}
        for name, messages in fields.items()
        for message in messages
    ]


# Sources Ninja prefixes to a validation error's location.
_PARAM_SOURCES = frozenset({"body", "query", "path", "header", "cookie", "form", "file"})


def _validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        parts = loc
        if parts and parts[0] in _PARAM_SOURCES:
            source, parts = parts[0], parts[1:]
            # A body schema arrives wrapped in its parameter name: ("body", "payload", "name").
            if source == "body" and len(parts) > 1:
                parts = parts[1:]
        message = str(error.get("msg", ""))
        # pydantic's "Value error, …" prefix adds nothing for people.
        message = message.removeprefix("Value error, ")
        out.append({"field": ".".join(parts), "loc": loc, "message": message,
                    "type": str(error.get("type", ""))})
    return out


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem_response(
        request, status=422, code="validation_failed", title=_("The input is not valid."),
        detail=_("Some fields are not valid; see errors."),
        errors=_validation_errors(exc.errors),
    )


def _on_tend_error(request: HttpRequest, exc: TendError) -> HttpResponse:
    doc = (type(exc).__doc__ or "").strip().splitlines()
    return problem_response(
        request, status=exc.status, code=exc.code, title=doc[0] if doc else "",
        detail=str(exc.message), errors=_field_errors(exc.fields),
    )


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    headers = {}
    if isinstance(exc, AuthenticationError) or status == 401:
        code = "not_authenticated"
        detail = _("Sign in, or send an API key as 'Authorization: Bearer <key>'.")
        if exc.message and exc.message != "Unauthorized":
            detail = exc.message
        headers["WWW-Authenticate"] = 'Bearer realm="tend"'
        return problem_response(request, status=401, code=code, detail=detail, headers=headers)
    code = {
        400: "bad_request", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed",
        409: "conflict", 415: "unsupported_media_type", 422: "validation_failed",
        429: "throttled",
    }.get(status, "http_error")
    return problem_response(request, status=status, code=code, detail=exc.message)


def _on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(request, status=404, code="not_found", detail=_("Not found."))


def _on_forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(request, status=403, code="permission_denied",
                            detail=str(exc) or _("You do not have permission to do this."))


def _on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        fields = {name: [m for e in errs for m in e.messages]
                  for name, errs in exc.error_dict.items()}
    else:
        fields = {"": exc.messages}
    return problem_response(request, status=422, code="validation_failed",
                            title=_("The input is not valid."),
                            detail=_("Some fields are not valid; see errors."),
                            errors=_field_errors(fields))


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error in %s %s", request.method, request.get_full_path(),
                     exc_info=exc)
    return problem_response(request, status=500, code="server_error",
                            detail=_("Something went wrong on our side. It was logged."))


# --- authentication and tenant scope ----------------------------------------------------------


def _enter_tenant(request: HttpRequest, *, tenant: Tenant, membership: Membership,
                  actor: Actor) -> Actor:
    stack: contextlib.ExitStack | None = getattr(request, "_tend_scope_stack", None)
    if stack is None:
        raise ConfigError("Tend API auth used on an API without tend.core.api.base.install()")
    stack.enter_context(tenant_scope(tenant))
    request.tenant = tenant  # type: ignore[attr-defined]
    request.membership = membership  # type: ignore[attr-defined]
    request.actor = actor  # type: ignore[attr-defined]
    return actor


def authenticate_api_key(token: str) -> tuple[ApiKey, Membership] | None:
    """Find the usable key for `token` and its creator's current membership, or None.

    A key is refused when revoked or expired, when its organization is inactive, and when its
    creator is disabled or no longer a current member (so disabling a member ends their keys).
    """
    parsed = apikey_parse(token)
    if parsed is None:
        return None
    prefix, secret = parsed
    with system_scope():
        candidates = list(
            ApiKey.objects.filter(prefix=prefix).select_related("tenant", "created_by")
        )
        if not candidates:
            apikey_hash(secret)  # spend the same time as a real comparison
            return None
        api_key = next((k for k in candidates if apikey_matches(k, secret)), None)
        if api_key is None or not api_key.is_usable or not api_key.tenant.is_active:
            return None
        membership = apikey_creator_membership(api_key=api_key)
    if membership is None:
        return None
    return api_key, membership


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer tend_<prefix>_<secret>`. A present but wrong credential is a 401
    at once (no falling back to the session)."""

    def __call__(self, request: HttpRequest) -> Actor | None:
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _sep, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(message=_("Use 'Authorization: Bearer <API key>'."))
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        found = authenticate_api_key(token)
        if found is None:
            raise AuthenticationError(
                message=_("The API key is not valid, or it was revoked or has expired.")
            )
        api_key, membership = found
        named = request.headers.get(ORG_HEADER)
        if named and named != api_key.tenant.slug:
            # The client believes it talks to another organization; do not act on this one.
            raise PermissionDenied(_("This API key belongs to another organization."))
        actor = Actor(
            kind="api_key",
            api_key=api_key,
            membership=membership,
            permissions=frozenset(api_key.permissions or []) & membership.role.permission_set(),
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
        _enter_tenant(request, tenant=api_key.tenant, membership=membership, actor=actor)
        apikey_touch(api_key=api_key)
        return actor


class SessionAuth(APIKeyCookie):
    """The signed-in UI user (Django session), with CSRF enforced on unsafe methods.

    The organization is the `X-Organization: <slug>` header, else the session's current
    organization; the user must be a current member of it.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Actor | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and not getattr(
            request, "_ninja_csrf_exempt", False
        ) and check_csrf(request) is not None:
            raise HttpError(403, _("CSRF check failed. Send the X-CSRFToken header."))
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        slug = request.headers.get(ORG_HEADER) or request.session.get(SESSION_ORG_KEY)
        if not slug:
            raise ValidationFailed(
                _("Choose an organization with the X-Organization header."),
                fields={ORG_HEADER: [_("This header is required.")]},
            )
        with system_scope():
            membership = membership_for(user=request.user, org_slug=str(slug))
        if membership is None:
            raise PermissionDenied(_("You are not a member of this organization."))
        actor = actor_for_request(request, membership)
        return _enter_tenant(request, tenant=membership.tenant, membership=membership,
                             actor=actor)


def _scoped_operation(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wraps a whole operation (auth included): the tenant scope entered by auth lasts until
    the response is rendered; a claimed idempotency key gets the final response stored."""
    if inspect.iscoroutinefunction(run):
        raise ConfigError("Tend API operations are synchronous")

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with contextlib.ExitStack() as stack:
            request._tend_scope_stack = stack  # type: ignore[attr-defined]
            try:
                response = run(request, *args, **kwargs)
            except BaseException:
                claim = getattr(request, "_tend_idempotency", None)
                if claim is not None:
                    idempotency_release(record=claim)
                raise
            claim = getattr(request, "_tend_idempotency", None)
            if claim is not None:
                if isinstance(response, StreamingHttpResponse):
                    idempotency_release(record=claim)
                else:
                    idempotency_finish(
                        record=claim, status=response.status_code,
                        body=bytes(response.content),  # type: ignore[attr-defined]
                        content_type=response.get("Content-Type", ""),
                    )
            return response

    return wrapper


def _idempotent_view(view_func: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps an endpoint body (after auth and input validation): a POST carrying an
    `Idempotency-Key` claims the key, or replays the stored response of its first run."""

    refuses_keys = getattr(view_func, "_tend_no_idempotency", False)

    @functools.wraps(view_func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        actor: Actor | None = getattr(request, "actor", None)
        if request.method != "POST" or key is None or actor is None:
            return view_func(request, *args, **kwargs)
        if refuses_keys:
            raise ValidationFailed(
                _("This endpoint does not accept an Idempotency-Key: its response holds a "
                  "secret that is never stored."),
                fields={IDEMPOTENCY_HEADER: [_("Not supported by this endpoint.")]},
            )
        path = request.get_full_path()
        claim = idempotency_begin(
            tenant=request.tenant,  # type: ignore[attr-defined]
            principal=actor.principal, key=key, method="POST", path=path,
            request_hash=idempotency_request_hash(method="POST", path=path, body=request.body),
        )
        if claim.replay:
            record = claim.record
            response = HttpResponse(
                bytes(record.response_body or b""),
                status=record.response_status or 200,
                content_type=record.response_content_type or "application/json",
            )
            response[REPLAYED_HEADER] = "true"
            return response
        request._tend_idempotency = claim.record  # type: ignore[attr-defined]
        return view_func(request, *args, **kwargs)

    return wrapper


def no_idempotency(func: F) -> F:
    """Mark an endpoint whose response must never be stored (it shows a secret once): a POST to
    it with an `Idempotency-Key` is refused with 422 instead of being replayable."""
    func._tend_no_idempotency = True  # type: ignore[attr-defined]
    return func


def install(api: NinjaAPI) -> NinjaAPI:
    """Give `api` Tend's auth, tenant scope, idempotency and problem+json error handlers.
    Call before routers are mounted."""
    api.add_decorator(_scoped_operation, mode="view")  # wraps the whole run, auth included
    api.add_decorator(_idempotent_view, mode="operation")  # wraps the endpoint body
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (ValidationError, _on_validation_error),
        (HttpError, _on_http_error),
        (TendError, _on_tend_error),
        (Http404, _on_not_found),
        (ObjectDoesNotExist, _on_not_found),
        (DjangoPermissionDenied, _on_forbidden),
        (DjangoValidationError, _on_django_validation_error),
        (Exception, _on_unexpected),  # the catch-all: real bugs only
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
    return api


# --- permissions ------------------------------------------------------------------------------


def request_actor(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    if actor is None:
        raise AuthenticationError()
    return actor


def require(request: HttpRequest, *permissions: str) -> Actor:
    """The request's actor, if it holds every one of `permissions`; else 403."""
    actor = request_actor(request)
    missing = [p for p in permissions if not actor.has_perm(p)]
    if missing:
        raise PermissionDenied(
            _("You do not have permission to do this (needs %(perms)s).")
            % {"perms": ", ".join(missing)}
        )
    return actor


def requires(*permissions: str) -> Callable[[F], F]:
    """Decorator form of `require` for endpoints that need no actor in their body."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            require(request, *permissions)
            return func(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# --- cursor pagination ------------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
DEFAULT_ORDERING = ("-created_at", "-id")

ItemT = TypeVar("ItemT")


class PageParams(Schema):
    """Query parameters of every list endpoint."""

    cursor: str | None = Field(
        None, description="`next_cursor` from the previous page; omit for the first page."
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")


class Page(Schema, Generic[ItemT]):
    """One page of a list. `next_cursor` is null on the last page."""

    items: list[ItemT]
    next_cursor: str | None = None


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The ordering values in `cursor`; 422 on anything that is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        values = None
    if not isinstance(values, list) or len(values) != size or any(
        v is None or isinstance(v, list | dict) or (isinstance(v, str) and not _storable(v))
        for v in values
    ):
        raise _bad_cursor()
    return values


def _storable(text: str) -> bool:
    """A text databases can compare: no NUL, no lone surrogate (JSON lets both through)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(_("The cursor is not valid."),
                            fields={"cursor": [_("Not a cursor from this list.")]})


def _after(ordering: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in `ordering` (keyset condition).

    Besides the exact `a > x OR (a = x AND b > y)`, the condition carries the leading bound
    `a >= x` on its own: PostgreSQL starts an index scan at a plain range, not at an OR, so a
    deep page reads from the cursor instead of from the first row."""
    condition = Q()
    for i, term in enumerate(ordering):
        name = term.lstrip("-")
        lookup = "lt" if term.startswith("-") else "gt"
        step = Q(**{f"{name}__{lookup}": values[i]})
        for prior_term, prior_value in zip(ordering[:i], values[:i], strict=True):
            step &= Q(**{prior_term.lstrip("-"): prior_value})
        condition |= step
    if len(ordering) > 1:
        first = ordering[0]
        bound = "lte" if first.startswith("-") else "gte"
        condition = Q(**{f"{first.lstrip('-')}__{bound}": values[0]}) & condition
    return condition


def _key_of(obj: Any, ordering: Sequence[str]) -> list[Any]:
    values = []
    for term in ordering:
        value: Any = obj
        for part in term.lstrip("-").split("__"):
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        if isinstance(value, Model):
            value = value.pk
        values.append(value)
    return values


def paginate(queryset: QuerySet[Any], page: PageParams, *,
             ordering: Sequence[str] = DEFAULT_ORDERING) -> dict[str, Any]:
    """One page of `queryset` in `ordering`, as `{"items": [...], "next_cursor": ...}`.

    `ordering` must make rows unique (end it with `id`) and name non-null fields; the cursor
    holds the last row's values of those fields, so pages stay stable while rows are added.
    """
    ordering = tuple(ordering)
    queryset = queryset.order_by(*ordering)
    if page.cursor:
        after = _after(ordering, decode_cursor(page.cursor, len(ordering)))
        try:
            queryset = queryset.filter(after)
        except (DjangoValidationError, ValueError, TypeError):  # values of the wrong type
            raise _bad_cursor() from None
    rows = list(queryset[: page.limit + 1])
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = encode_cursor(_key_of(rows[-1], ordering)) if has_more and rows else None
    return {"items": rows, "next_cursor": next_cursor}
