"""The public one-click unsubscribe page: `/u/<signed token>/` (RFC 8058).

Outside `/o/` and without sign-in: the token, signed with the secret key, is the only proof
(see `services.unsubscribe`). GET shows a confirmation button (mail scanners follow links, so
a GET never changes anything); POST — the button, or a mail client's one-click
`List-Unsubscribe=One-Click` — revokes the contact's EMAIL MARKETING consent. A bad or
altered token, an unknown organization or a deleted contact answer 404; never a 500.
CSRF is not checked: mail clients post without a token, and the signed link already names
the one person it affects.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.tenancy import tenant_scope
from tend.messaging.services.unsubscribe import unsubscribe_apply, unsubscribe_read, unsubscribed
from tend.people.models import Contact
from tend.people.services.resolution import contact_is_dead


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status=404)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        tenant_id, contact_id = unsubscribe_read(token)
        tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    except (signing.BadSignature, ValidationError, ValueError):
        return _not_found(request)
    if tenant is None:
        return _not_found(request)
    with tenant_scope(tenant):
        try:
            contact = Contact.objects.filter(tenant=tenant, pk=contact_id).first()
        except (ValidationError, ValueError):
            contact = None
        # A merged-away contact's link speaks for the contact it was merged into.
        for _hop in range(5):
            if contact is None or contact.merged_into_id is None:
                break
            contact = Contact.objects.filter(tenant=tenant, pk=contact.merged_into_id).first()
        if contact is None or contact_is_dead(contact):
            return _not_found(request)
        language = (request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or contact.language
                    or tenant.default_language or "en")
        with translation.override(language):
            if request.method == "POST":
                try:
                    unsubscribe_apply(tenant=tenant, contact=contact,
                                      ip=request.META.get("REMOTE_ADDR") or None)
                except ValidationFailed:
                    return _not_found(request)
                state = "done"
            else:
                state = "done" if unsubscribed(tenant=tenant, contact=contact) else "confirm"
            return render(request, "messaging/unsubscribe.html",
                          {"state": state, "organization": tenant.name,
                           "email": contact.primary_email})


urlpatterns = [
    path("u/<str:token>/", unsubscribe, name="unsubscribe"),
]
