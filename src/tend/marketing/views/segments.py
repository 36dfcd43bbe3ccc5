"""Marketing → Segments: the list, the form (create and edit), a segment's page (count, growth
chart, members with export and removal, refresh and its history), and deletion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.api.base import PageParams, paginate
from tend.core.errors import TendError
from tend.core.tenancy import tenant_scope
from tend.core.views.base import apply_errors, is_htmx, require_perm, tenant_and_actor
from tend.marketing.chart import growth_chart
from tend.marketing.choices import RefreshFrequency, SegmentType
from tend.marketing.models import Segment
from tend.marketing.selectors.segments import (
    segment_count_history,
    segment_get,
    segment_list,
    segment_member_contacts,
    segment_members,
    segment_refreshes,
)
from tend.marketing.services.membership import segment_refresh, segment_remove_members
from tend.marketing.services.refreshjobs import REFRESH_INLINE_MAX, segment_refresh_start
from tend.marketing.services.segments import segment_create, segment_delete, segment_update

PAGE_SIZE = 50


_ctx = tenant_and_actor


@require_perm("segments.view")
def segments_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Every segment with its type, member count and last refresh."""
    tenant, actor = _ctx(request)
    q = request.GET.get("q", "").strip()[:200]
    segments = list(segment_list(tenant=tenant, search=q))
    template = ("marketing/partials/segments_results.html"
                if is_htmx(request) and request.headers.get("HX-Target") == "segments-results"
                else "marketing/segments_list.html")
    return render(request, template, {
        "segments": segments, "q": q, "can_add": actor.has_perm("segments.add")})


class SegmentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Description"), required=False,
                                  max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=SegmentType.choices,
                             widget=forms.RadioSelect, initial=SegmentType.STATIC)
    refresh_frequency = forms.ChoiceField(
        label=gettext_lazy("Refresh"), choices=RefreshFrequency.choices,
        initial=RefreshFrequency.DAILY,
        help_text=gettext_lazy("Dynamic segments also update as soon as a contact changes; "
                               "this catches rules about time passing."))
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    rule = forms.CharField(
        label=gettext_lazy("Rules"), required=False,
        widget=forms.HiddenInput)

    def __init__(self, *args: Any, segment: Segment | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if segment is not None:
            del self.fields["type"]
            if segment.type != SegmentType.DYNAMIC:
                del self.fields["rule"]
                del self.fields["refresh_frequency"]

    def clean_rule(self) -> dict[str, Any] | None:
        text = (self.cleaned_data.get("rule") or "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("Write the rules as JSON.")) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Write the rules as a JSON object."))
        return value

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k in self.fields}
        if data.get("rule") is None:
            data.pop("rule", None)
        if data.get("type") and data["type"] != SegmentType.DYNAMIC:
            data.pop("refresh_frequency", None)
            data.pop("rule", None)
        return data


def _rule_errors_to_form(form: SegmentForm, exc: TendError) -> None:
    """Service errors next to the fields; a rule problem names where in the rule it is."""
    merged: dict[str, list[str]] = {}
    for key, field_messages in exc.fields.items():
        if key.startswith("rule."):
            merged.setdefault("rule", []).extend(
                f"{key.removeprefix('rule.')}: {m}" for m in field_messages)
        else:
            merged.setdefault(key, []).extend(field_messages)
    apply_errors(form, type(exc)(exc.message, fields=merged))


def _form_page(request: HttpRequest, form: SegmentForm, segment: Segment | None,
               status: int = 200) -> HttpResponse:
    """The form, with the rule builder (from the rules app) in place of the rule's JSON."""
    context: dict[str, Any] = {"form": form, "segment": segment}
    if "rule" in form.fields:
        from tend.rules.views.builder import builder_context

        rule: Any = segment.rule if segment is not None else None
        if form.is_bound:
            try:
                rule = json.loads(form.data.get("rule") or "null")
            except ValueError:
                rule = None
        context["builder"] = builder_context(request, rule=rule, input_name="rule")
    return render(request, "marketing/segment_form.html", context, status=status)


@require_perm("segments.add")
def segments_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """A form for a new segment; on success, its page."""
    tenant, actor = _ctx(request)
    if request.method != "POST":
        return _form_page(request, SegmentForm(initial={"type": request.GET.get("type",
                                                                                 "STATIC")}),
                          None)
    form = SegmentForm(request.POST)
    if form.is_valid():
        try:
            segment = segment_create(tenant=tenant, actor=actor, data=form.service_data())
        except TendError as exc:
            _rule_errors_to_form(form, exc)
        else:
            messages.success(request, _("The segment %(name)s was created.") % {
                "name": segment.name})
            return redirect("marketing:segments-detail", org_slug=org_slug,
                            segment_id=segment.pk)
    return _form_page(request, form, None, status=422)


@require_perm("segments.change")
def segments_edit(request: HttpRequest, org_slug: str, segment_id: UUID) -> HttpResponse:
    tenant, actor = _ctx(request)
    segment = segment_get(tenant=tenant, segment_id=segment_id)
    if request.method != "POST":
        initial = {"name": segment.name, "description": segment.description,
                   "refresh_frequency": segment.refresh_frequency,
                   "is_active": segment.is_active,
                   "rule": json.dumps(segment.rule, indent=2, ensure_ascii=False)
                   if segment.rule else ""}
        return _form_page(request, SegmentForm(initial=initial, segment=segment), segment)
    form = SegmentForm(request.POST, segment=segment)
    if form.is_valid():
        try:
            segment_update(tenant=tenant, actor=actor, segment=segment,
                           data=form.service_data())
        except TendError as exc:
            _rule_errors_to_form(form, exc)
        else:
            messages.success(request, _("The segment %(name)s was saved.") % {
                "name": segment.name})
            return redirect("marketing:segments-detail", org_slug=org_slug,
                            segment_id=segment.pk)
    return _form_page(request, form, segment, status=422)


@require_perm("segments.view")
def segments_detail(request: HttpRequest, org_slug: str, segment_id: UUID) -> HttpResponse:
    """A segment's page. htmx requests for the next page of members get only the rows."""
    tenant, actor = _ctx(request)
    segment = segment_get(tenant=tenant, segment_id=segment_id)
    can_see_people = actor.has_perm("contacts.view")
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    if can_see_people:
        page = paginate(segment_members(tenant=tenant, segment=segment, actor=actor),
                        PageParams(cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE),
                        ordering=("-matched_at", "-id"))
    context = {
        "segment": segment, "members": page["items"], "next_cursor": page["next_cursor"],
        "can_see_people": can_see_people,
        "can_change": actor.has_perm("segments.change"),
        "can_delete": actor.has_perm("segments.delete") and not segment.is_system,
        "can_export": actor.has_perm("contacts.export") and can_see_people,
        "is_static": segment.type != SegmentType.DYNAMIC,
    }
    if is_htmx(request) and request.GET.get("cursor"):
        return render(request, "marketing/partials/member_rows.html", context)
    history = segment_count_history(tenant=tenant, segment=segment, days=90)
    context.update({"chart": growth_chart(history),
                    "refreshes": segment_refreshes(tenant=tenant, segment=segment)})
    return render(request, "marketing/segment_detail.html", context)


@require_POST
@require_perm("segments.change")
def segments_refresh(request: HttpRequest, org_slug: str, segment_id: UUID) -> HttpResponse:
    """Refresh now; a big segment refreshes as a job whose progress page opens."""
    tenant, actor = _ctx(request)
    segment = segment_get(tenant=tenant, segment_id=segment_id)
    if segment.member_count > REFRESH_INLINE_MAX:
        job = segment_refresh_start(tenant=tenant, actor=actor, segment=segment)
        return redirect("core:jobs-detail", org_slug=org_slug, job_id=job.pk)
    refresh = segment_refresh(tenant=tenant, actor=actor, segment=segment)
    messages.success(request, _("Refreshed: %(added)d entered, %(removed)d left.") % {
        "added": refresh.added, "removed": refresh.removed})
    return redirect("marketing:segments-detail", org_slug=org_slug, segment_id=segment.pk)


@require_POST
@require_perm("segments.change")
def segments_members_remove(request: HttpRequest, org_slug: str,
                            segment_id: UUID) -> HttpResponse:
    """Remove the ticked members from a static list."""
    tenant, actor = _ctx(request)
    segment = segment_get(tenant=tenant, segment_id=segment_id)
    ids = request.POST.getlist("ids")[:1000]
    if not ids:
        messages.error(request, _("Select at least one member."))
    else:
        count = segment_remove_members(tenant=tenant, actor=actor, segment=segment,
                                       contact_ids=ids)
        messages.success(request, _("Removed %(count)d from the list.") % {"count": count})
    return redirect("marketing:segments-detail", org_slug=org_slug, segment_id=segment.pk)


@require_POST
@require_perm("segments.delete")
def segments_delete(request: HttpRequest, org_slug: str, segment_id: UUID) -> HttpResponse:
    tenant, actor = _ctx(request)
    segment = segment_get(tenant=tenant, segment_id=segment_id)
    name = segment.name
    segment_delete(tenant=tenant, actor=actor, segment=segment)
    messages.success(request, _("The segment %(name)s was deleted.") % {"name": name})
    return redirect("marketing:segments-list", org_slug=org_slug)


@require_perm("segments.view", "contacts.export")
def segments_export(request: HttpRequest, org_slug: str, segment_id: UUID) -> HttpResponse:
    """The members as CSV, in the people module's export columns (streams; memory stays
    flat however many members)."""
    from tend.people.services.exports import (
        csv_stream,
        export_audit,
        export_queryset,
        export_rows,
    )

    tenant, actor = _ctx(request)
    segment = segment_get(tenant=tenant, segment_id=segment_id)
    members = segment_member_contacts(tenant=tenant, segment=segment)
    qs = export_queryset(tenant=tenant, actor=actor).filter(pk__in=members.values("pk"))
    export_audit(tenant=tenant, actor=actor, format="csv", count=segment.member_count)

    def body() -> Iterator[bytes]:
        with tenant_scope(tenant):
            yield from csv_stream(export_rows(tenant=tenant, qs=qs))

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
    return response  # type: ignore[return-value]


prefix = "o/<slug:org_slug>/marketing/segments/"
urlpatterns = [
    path(prefix, segments_list, name="segments-list"),
    path(f"{prefix}new/", segments_create, name="segments-create"),
    path(f"{prefix}<uuid:segment_id>/", segments_detail, name="segments-detail"),
    path(f"{prefix}<uuid:segment_id>/edit/", segments_edit, name="segments-edit"),
    path(f"{prefix}<uuid:segment_id>/refresh/", segments_refresh, name="segments-refresh"),
    path(f"{prefix}<uuid:segment_id>/remove/", segments_members_remove,
         name="segments-remove"),
    path(f"{prefix}<uuid:segment_id>/delete/", segments_delete, name="segments-delete"),
    path(f"{prefix}<uuid:segment_id>/export.csv", segments_export, name="segments-export"),
]
