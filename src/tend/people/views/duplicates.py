"""Duplicates review, the merge screen, a contact's privacy page and the retention settings.

Thin views: parse the request, call a selector or service, render. Service refusals come back
as the page with the errors and a 422.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.api.base import PageParams, paginate
from tend.core.errors import ValidationFailed
from tend.core.views.base import apply_errors, is_htmx, require_perm
from tend.people.choices import DuplicateResolution
from tend.people.selectors.contacts import contact_get
from tend.people.selectors.duplicates import candidate_get, candidate_list
from tend.people.services.duplicates import duplicate_detection_start, duplicate_resolve
from tend.people.services.merge import contact_merge, merge_preview
from tend.people.services.privacy import (
    ERASE_CONFIRMATION,
    MAX_INACTIVE_MONTHS,
    contact_erase,
    export_file_name,
    privacy_export_build,
    retention_dry_run,
    retention_settings,
    retention_settings_update,
)

PAGE_SIZE = 50
RESOLUTION_FILTERS = ("PENDING", "NOT_DUPLICATE", "IGNORED", "MERGED", "ALL")


# --- duplicates review -------------------------------------------------------------------------


@require_perm("contacts.manage")
def duplicates_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    resolution = request.GET.get("resolution") or "PENDING"
    if resolution not in RESOLUTION_FILTERS:
        resolution = "PENDING"
    queryset = candidate_list(tenant=request.tenant, resolution=resolution)  # type: ignore[attr-defined]
    page = paginate(queryset, PageParams(cursor=request.GET.get("cursor") or None,
                                         limit=PAGE_SIZE), ordering=("-score", "-id"))
    filters = [(value, DuplicateResolution(value).label if value != "ALL" else _("All"))
               for value in RESOLUTION_FILTERS]
    return render(request, "people/duplicates.html", {
        "candidates": page["items"], "next_cursor": page["next_cursor"],
        "resolution": resolution, "filters": filters,
    })


@require_POST
@require_perm("contacts.manage")
def duplicates_resolve(request: HttpRequest, org_slug: str, candidate_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    candidate = candidate_get(tenant=tenant, candidate_id=candidate_id)
    candidate = duplicate_resolve(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                  candidate=candidate,
                                  resolution=request.POST.get("resolution", ""))
    if is_htmx(request):
        return render(request, "people/partials/duplicate_row.html", {"c": candidate})
    messages.success(request, _("The pair was marked: %(resolution)s.")
                     % {"resolution": candidate.get_resolution_display()})
    return redirect("people:duplicates-list", org_slug=org_slug)


@require_POST
@require_perm("contacts.manage")
def duplicates_detect(request: HttpRequest, org_slug: str) -> HttpResponse:
    job = duplicate_detection_start(tenant=request.tenant,  # type: ignore[attr-defined]
                                    actor=request.actor)  # type: ignore[attr-defined]
    messages.success(request, _("Looking for duplicates. Follow the progress here."))
    return redirect("core:jobs-detail", org_slug=org_slug, job_id=job.pk)


# --- merge -------------------------------------------------------------------------------------


def _merge_rows(rows: list[dict[str, Any]], data: Any) -> list[dict[str, Any]]:
    """Preview rows with the chosen side (`choice`) and the value that will survive."""
    for row in rows:
        chosen = data.get(f"choice__{row['field']}") if data is not None else None
        row["choice"] = chosen if chosen in ("winner", "loser") else row["default"]
        row["result"] = row[row["choice"]]
    return rows


@require_perm("contacts.manage")
def merge_screen(request: HttpRequest, org_slug: str, winner_id: UUID,
                 loser_id: UUID) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    winner = contact_get(tenant=tenant, contact_id=winner_id)
    loser = contact_get(tenant=tenant, contact_id=loser_id)
    data = request.POST if request.method == "POST" else None
    rows = _merge_rows(merge_preview(winner=winner, loser=loser), data)
    errors: list[str] = []
    status = 200
    if request.method == "POST" and request.POST.get("action") == "merge":
        choices = {row["field"]: row["choice"] for row in rows}
        try:
            merged = contact_merge(tenant=tenant, actor=actor, winner=winner, loser=loser,
                                   field_choices=choices)
        except ValidationFailed as exc:
            errors = [str(m) for messages_ in exc.fields.values() for m in messages_] or [
                str(exc.message)]
            status = 422
        else:
            messages.success(request, _("The contacts were merged."))
            return redirect("people:contacts-detail", org_slug=org_slug, contact_id=merged.pk)
    return render(request, "people/merge.html", {
        "winner": winner, "loser": loser, "rows": rows, "errors": errors,
        "previewed": request.method == "POST",
    }, status=status)


# --- privacy -----------------------------------------------------------------------------------


class EraseForm(forms.Form):
    confirmation = forms.CharField(
        label=gettext_lazy("Type ERASE to confirm"), max_length=20,
        help_text=gettext_lazy("Names, identities and texts are removed for good."),
    )


class RetentionForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Erase inactive contacts automatically"),
                                 required=False)
    inactive_months = forms.IntegerField(
        label=gettext_lazy("Inactive for (months)"), min_value=1, max_value=600,
        help_text=gettext_lazy("Contacts with no activity for this long and no granted "
                               "consent are erased by a daily job."),
    )


@require_perm("privacy.view")
def contact_privacy(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    contact = contact_get(tenant=request.tenant, contact_id=contact_id)  # type: ignore[attr-defined]
    form = EraseForm()
    status = 200
    if request.method == "POST":
        if not request.actor.has_perm("privacy.manage"):  # type: ignore[attr-defined]
            raise DjangoPermissionDenied
        form = EraseForm(request.POST)
        if form.is_valid():
            try:
                contact_erase(tenant=request.tenant, actor=request.actor,  # type: ignore[attr-defined]
                              contact=contact, confirmation=form.cleaned_data["confirmation"])
            except ValidationFailed as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("The contact's personal data was erased."))
                return redirect("people:contacts-privacy", org_slug=org_slug,
                                contact_id=contact.pk)
        status = 422
    return render(request, "people/privacy.html", {
        "contact": contact, "form": form, "confirmation_word": ERASE_CONFIRMATION,
        "can_export": request.actor.has_perm("privacy.export"),  # type: ignore[attr-defined]
        "can_erase": request.actor.has_perm("privacy.manage"),  # type: ignore[attr-defined]
    }, status=status)


@require_perm("privacy.export")
def contact_privacy_export(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    contact = contact_get(tenant=tenant, contact_id=contact_id)
    content = privacy_export_build(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                   contact=contact)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export_file_name(contact)}"'
    return response


@require_perm("privacy.view")
def retention_settings_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    rule = retention_settings(tenant)
    form = RetentionForm(initial=rule)
    status = 200
    if request.method == "POST":
        if not request.actor.has_perm("privacy.manage"):  # type: ignore[attr-defined]
            raise DjangoPermissionDenied
        form = RetentionForm(request.POST)
        if form.is_valid():
            try:
                retention_settings_update(
                    tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                    enabled=form.cleaned_data["enabled"],
                    inactive_months=form.cleaned_data["inactive_months"])
            except ValidationFailed as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Retention settings saved."))
                return redirect("people:privacy-retention", org_slug=org_slug)
        status = 422
    form.fields["inactive_months"].widget.attrs.update({
        "hx-get": reverse("people:privacy-retention-preview", kwargs={"org_slug": org_slug}),
        "hx-trigger": "input changed delay:300ms", "hx-target": "#retention-preview",
        "hx-swap": "outerHTML"})
    return render(request, "people/retention.html", {
        "form": form, "rule": rule,
        "would_erase": retention_dry_run(tenant=tenant, months=rule["inactive_months"]),
        "can_manage": request.actor.has_perm("privacy.manage"),  # type: ignore[attr-defined]
    }, status=status)


@require_perm("privacy.view")
def retention_preview(request: HttpRequest, org_slug: str) -> HttpResponse:
    """How many contacts a rule of `inactive_months` would erase today (htmx, as the number
    is typed); the saved rule's count without a valid number."""
    tenant = request.tenant  # type: ignore[attr-defined]
    raw = request.GET.get("inactive_months", "").strip()
    months = int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_INACTIVE_MONTHS else None
    if months is None:
        months = retention_settings(tenant)["inactive_months"]
    return render(request, "people/partials/retention_preview.html", {
        "months": months, "would_erase": retention_dry_run(tenant=tenant, months=months)})


_base = "o/<slug:org_slug>/people"
urlpatterns = [
    path(f"{_base}/duplicates/", duplicates_list, name="duplicates-list"),
    path(f"{_base}/duplicates/detect/", duplicates_detect, name="duplicates-detect"),
    path(f"{_base}/duplicates/<uuid:candidate_id>/resolve/", duplicates_resolve,
         name="duplicates-resolve"),
    path(f"{_base}/merge/<uuid:winner_id>/<uuid:loser_id>/", merge_screen, name="merge"),
    path(f"{_base}/contacts/<uuid:contact_id>/privacy/", contact_privacy,
         name="contacts-privacy"),
    path(f"{_base}/contacts/<uuid:contact_id>/privacy/export/", contact_privacy_export,
         name="contacts-privacy-export"),
    path(f"{_base}/privacy/retention/", retention_settings_page, name="privacy-retention"),
    path(f"{_base}/privacy/retention/preview/", retention_preview,
         name="privacy-retention-preview"),
]
