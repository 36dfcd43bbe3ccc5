"""The organization's profile: name, time zone, language, region and enabled modules."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.errors import TendError
from tend.core.modules import modules
from tend.core.services.organization import tenant_update
from tend.core.views.base import apply_errors, require_perm
from tend.web.forms import time_zone_choices


def module_choices() -> list[tuple[str, str]]:
    return [(m.key, str(m.label)) for m in modules() if not m.always_on]


class OrganizationForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"), choices=time_zone_choices,
        help_text=gettext_lazy("Schedules, quiet hours and reports use this time zone."),
    )
    default_language = forms.ChoiceField(label=gettext_lazy("Default language"),
                                         choices=settings.LANGUAGES)
    region = forms.CharField(
        label=gettext_lazy("Default phone region"), min_length=2, max_length=2,
        help_text=gettext_lazy("Two-letter country code used for phone numbers written "
                               "without +, such as US or AE."),
    )
    enabled_modules = forms.MultipleChoiceField(
        label=gettext_lazy("Modules"), choices=module_choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Switch on the parts of Tend your organization uses."),
    )

    def __init__(self, *args: object, read_only: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not module_choices():
            del self.fields["enabled_modules"]
        if read_only:
            for field in self.fields.values():
                field.disabled = True


@require_perm("organization.view")
def organization_settings(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    actor = request.actor  # type: ignore[attr-defined]
    can_change = actor.has_perm("organization.change")
    initial = {
        "name": tenant.name, "time_zone": tenant.time_zone,
        "default_language": tenant.default_language, "region": tenant.region,
        "enabled_modules": list(tenant.enabled_modules or []),
    }
    status = 200
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = OrganizationForm(request.POST, initial=initial)
        if form.is_valid():
            try:
                data = {"enabled_modules": initial["enabled_modules"], **form.cleaned_data}
                tenant_update(tenant=tenant, actor=actor, **data)
            except TendError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("The organization's settings were saved."))
                return redirect("core:organization-settings", org_slug=tenant.slug)
        status = 422
    else:
        form = OrganizationForm(initial=initial, read_only=not can_change)
    return render(request, "core/organization.html",
                  {"form": form, "can_change": can_change}, status=status)


urlpatterns = [
    path("o/<slug:org_slug>/settings/organization/", organization_settings,
         name="organization-settings"),
]
