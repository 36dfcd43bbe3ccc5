"""Pages outside any organization: sign-in, landing, organization picker, profile."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from tend.core.errors import ValidationFailed
from tend.core.selectors.access import memberships_for_user
from tend.core.services.accounts import (
    user_change_password,
    user_set_language,
    user_update_profile,
)
from tend.core.tenancy import system_scope
from tend.core.views.base import apply_errors
from tend.web.forms import LoginForm, PasswordChangeForm, ProfileForm, ResetSetPasswordForm


class LoginView(auth_views.LoginView):
    """Email + password. Django's `login()` gives the session a new key (no fixation);
    django-axes answers repeated failures with the lockout page."""

    form_class = LoginForm
    template_name = "web/auth/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django refuses GET)."""


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "web/auth/password_reset_form.html"
    email_template_name = "web/auth/password_reset_email.txt"
    subject_template_name = "web/auth/password_reset_subject.txt"


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "web/auth/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "web/auth/password_reset_confirm.html"
    form_class = ResetSetPasswordForm
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "web/auth/password_reset_complete.html"


def _my_memberships(request: HttpRequest) -> list[Any]:
    with system_scope():
        return memberships_for_user(user=request.user)  # type: ignore[arg-type]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """After sign-in: straight into the only organization, else the picker."""
    memberships = _my_memberships(request)
    if len(memberships) == 1:
        return redirect("core:dashboard", org_slug=memberships[0].tenant.slug)
    return redirect("organizations")


@login_required
def organizations(request: HttpRequest) -> HttpResponse:
    """Pick (or switch to) one of the organizations the person belongs to."""
    return render(request, "web/organizations.html",
                  {"memberships": _my_memberships(request)})


def _profile_context(request: HttpRequest, **forms: Any) -> dict[str, Any]:
    user = request.user
    forms.setdefault("profile_form", ProfileForm(initial={
        "full_name": user.full_name,  # type: ignore[union-attr]
        "language": user.language,  # type: ignore[union-attr]
        "time_zone": user.time_zone,  # type: ignore[union-attr]
    }))
    forms.setdefault("password_form", PasswordChangeForm())
    return forms


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The person's name, language and time zone."""
    if request.method != "POST":
        return render(request, "web/profile.html", _profile_context(request))
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            user_update_profile(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Your profile was saved."))
            response = redirect("profile")
            _remember_language(response, form.cleaned_data["language"])
            return response
    return render(request, "web/profile.html", _profile_context(request, profile_form=form),
                  status=422)


@login_required
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    """Change the password; every other session of the account ends, this one stays."""
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            user = user_change_password(
                user=request.user,  # type: ignore[arg-type]
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            update_session_auth_hash(request, user)
            request.session["tend_epoch"] = user.session_epoch
            messages.success(request, _("Your password was changed. Other sessions have ended."))
            return redirect("profile")
    return render(request, "web/profile.html", _profile_context(request, password_form=form),
                  status=422)


def _remember_language(response: HttpResponse, language: str) -> None:
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language,
                        max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; kept on the account when signed in (else a cookie)."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        try:
            user_set_language(user=request.user, language=language)  # type: ignore[arg-type]
        except ValidationFailed:
            return HttpResponse(_("Choose one of the offered languages."), status=400,
                                content_type="text/plain; charset=utf-8")
    return django_set_language(request)
