"""Accepting an invitation from its emailed link (`/invite/<token>/`).

The page sits outside any organization: the token itself names the organization, so it is
looked up first (by its hash) and the tenant scope entered from the invitation found.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.errors import TendError
from tend.core.models import Invitation, User
from tend.core.selectors.access import client_ip
from tend.core.selectors.members import invitation_for_token
from tend.core.services.invitations import invitation_accept
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.views.base import apply_errors


class NewAccountForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200,
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(
        label=gettext_lazy("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("At least 8 characters; not only digits, not a common password."),
    )
    password_confirm = forms.CharField(
        label=gettext_lazy("Password again"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_confirm") and (
            data["password"] != data["password_confirm"]
        ):
            self.add_error("password_confirm", _("The two passwords differ."))
        return data


def _state(request: HttpRequest, invitation: Invitation) -> str:
    """What the page offers: join (signed in as the invitee), wrong_user, sign_in (the
    account exists), or new_account."""
    if request.user.is_authenticated:
        if request.user.email.lower() == invitation.email.lower():  # type: ignore[union-attr]
            return "join"
        return "wrong_user"
    with system_scope():
        exists = User.objects.filter(email__iexact=invitation.email).exists()
    return "sign_in" if exists else "new_account"


def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_for_token(token)
    if invitation is None:
        return render(request, "core/invite_invalid.html", {"reason": "unknown"}, status=404)
    if not invitation.is_pending:
        reason = "accepted" if invitation.accepted_at else (
            "revoked" if invitation.revoked_at else "expired")
        return render(request, "core/invite_invalid.html", {"reason": reason}, status=410)

    state = _state(request, invitation)
    form = NewAccountForm(request.POST or None) if state == "new_account" else None
    status = 403 if state == "wrong_user" else 200
    if request.method == "POST" and state in ("join", "new_account"):
        error: TendError | None = None
        if form is None or form.is_valid():
            try:
                with tenant_scope(invitation.tenant):
                    membership = invitation_accept(
                        invitation=invitation,
                        user=request.user if state == "join" else None,  # type: ignore[arg-type]
                        full_name=form.cleaned_data["full_name"] if form else "",
                        password=form.cleaned_data["password"] if form else "",
                        ip=client_ip(request),
                        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
                    )
            except TendError as exc:
                error = exc
                if form is not None:
                    apply_errors(form, exc)
            else:
                if state == "new_account":
                    login(request, membership.user,
                          backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome to %(org)s.")
                                 % {"org": invitation.tenant.name})
                return redirect("core:dashboard", org_slug=invitation.tenant.slug)
        status = error.status if error is not None else 422
        if error is not None and form is None:
            messages.error(request, error.message)
    return render(request, "core/invite_accept.html", {
        "invitation": invitation, "state": state, "form": form, "token": token,
    }, status=status)


urlpatterns = [
    path("invite/<str:token>/", invite_accept, name="invite-accept"),
]
