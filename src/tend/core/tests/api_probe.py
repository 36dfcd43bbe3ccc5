"""A small API used only by the tests of the shared API machinery (`tend.core.api.base`): the
same install() as /api/v1, with endpoints that raise each kind of error and one that writes."""

import threading

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import include, path
from ninja import NinjaAPI, Query, Router, Schema, Status
from ninja.errors import HttpError

from tend.core.api.base import (
    ApiKeyAuth,
    Page,
    PageParams,
    SessionAuth,
    install,
    no_idempotency,
    paginate,
    require,
    requires,
)
from tend.core.errors import Conflict, ValidationFailed
from tend.core.models import AuditLog
from tend.core.services.audit import audit_record

probe_api = NinjaAPI(title="probe", version="probe", urls_namespace="probe-api",
                     auth=[ApiKeyAuth(), SessionAuth()], docs_url=None)
install(probe_api)
router = Router()


class NoteIn(Schema):
    text: str
    count: int = 1


class NoteOut(Schema):
    seq: int
    action: str


@router.get("/whoami")
def whoami(request):
    actor = request.actor
    return {"tenant": request.tenant.slug, "kind": actor.kind,
            "permissions": sorted(actor.permissions)}


@router.post("/notes", response={201: NoteOut})
def note_create(request, payload: NoteIn):
    actor = require(request, "audit.view")
    entry = audit_record(tenant=request.tenant, actor=actor, action=f"probe.{payload.text}")
    return Status(201, entry)


@router.post("/secret")
@no_idempotency
def secret(request):
    return {"secret": "shown once"}


@router.post("/fail-after-claim")
def fail_after_claim(request):
    raise ValidationFailed("nope", fields={"text": ["Bad text."]})


@router.post("/explode")
def explode(request):
    raise RuntimeError("boom")


# Lets a test hold a request inside its endpoint: the view signals `slow_entered`, then waits
# for `slow_release`.
slow_entered = threading.Event()
slow_release = threading.Event()


@router.post("/slow", response={201: NoteOut})
def slow(request, payload: NoteIn):
    actor = require(request, "audit.view")
    slow_entered.set()
    slow_release.wait(timeout=10)
    entry = audit_record(tenant=request.tenant, actor=actor, action=f"probe.{payload.text}")
    return Status(201, entry)


@router.get("/entries", response=Page[NoteOut])
@requires("audit.view")
def entries(request, page: Query[PageParams]):
    return paginate(AuditLog.objects.filter(tenant=request.tenant), page,
                    ordering=("-seq",))


@router.get("/raise/{kind}")
def raise_kind(request, kind: str):
    if kind == "http":
        raise HttpError(418, "I am a teapot.")
    if kind == "http404":
        raise Http404("gone")
    if kind == "doesnotexist":
        AuditLog.objects.get(seq=999_999)
    if kind == "django-forbidden":
        raise DjangoPermissionDenied("No.")
    if kind == "django-validation":
        raise DjangoValidationError({"name": ["Too short."]})
    if kind == "conflict":
        raise Conflict("Busy.", fields={"state": ["Already done."]})
    if kind == "bug":
        raise RuntimeError("canary-bug-text")
    return {"kind": kind}


probe_api.add_router("/", router)
urlpatterns = [path("probe/", probe_api.urls)]
urlpatterns += [path("", include("tend.urls"))]
