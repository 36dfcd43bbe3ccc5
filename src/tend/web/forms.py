"""Forms of the account pages: sign-in, password reset, profile."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from tend.core.errors import ValidationFailed
from tend.core.services.accounts import time_zone_names, user_set_password


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(time_zone_names())]


class LoginForm(AuthenticationForm):
    """Email and password. The field stays named `username` so django-axes counts failures."""

    username = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        return (self.cleaned_data.get("username") or "").strip().lower()


class ResetSetPasswordForm(SetPasswordForm):
    """Setting a password from a reset link goes through the account service, which also ends
    the account's other sessions."""

    def save(self, commit: bool = True) -> Any:
        try:
            return user_set_password(user=self.user,
                                     new_password=self.cleaned_data["new_password1"])
        except ValidationFailed as exc:  # validators already ran in clean(); keep it safe
            raise forms.ValidationError(exc.fields.get("new_password", [exc.message])) from None


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices,
        help_text=_("Dates and times are shown in this time zone."),
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters; not only digits, not a common password."),
    )
    new_password_confirm = forms.CharField(
        label=_("New password again"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        new, again = data.get("new_password"), data.get("new_password_confirm")
        if new and again and new != again:
            self.add_error("new_password_confirm", _("The two passwords differ."))
        return data
