"""The attention list (whole organization, a unit's subtree or a mentor's mentees), its
thresholds, and "My mentees"."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from tend.community.selectors.care_attention import (
    Attention,
    attention_list,
    attention_rule,
)
from tend.community.selectors.care_people import mentor_links
from tend.community.selectors.care_units import unit_get, unit_list
from tend.community.services.care_attention import (
    attention_settings,
    attention_settings_update,
)
from tend.community.services.care_mentors import staff_contact_id
from tend.core.views.base import form_post, form_status, posted_whole_numbers, require_perm
from tend.people.models import Contact
from tend.people.selectors.contact_page import access_contact

PAGE = 100


@require_perm("care.view")
def attention(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    unit = mentor = None
    if request.GET.get("unit"):
        unit = unit_get(tenant=tenant, unit_id=request.GET["unit"])
    if request.GET.get("mentor"):
        mentor = access_contact(tenant=tenant, contact_id=request.GET["mentor"], actor=actor)
    attention = Attention(tenant)
    if request.GET.get("part") == "total":
        # The count of the whole list reads every match (hundreds of ms in a large unit), so
        # a full page asks for it separately and shows its rows first.
        return render(request, "community/partials/care_attention_total.html", {
            "total": attention.people(unit=unit, mentor=mentor, actor=actor).count()})
    rows = attention.page(unit=unit, mentor=mentor, actor=actor, limit=PAGE)
    query = request.GET.copy()
    query["part"] = "total"
    return render(request, "community/care_attention.html", {
        "rows": rows, "total": len(rows) if len(rows) < PAGE else None,
        "total_query": query.urlencode(),
        "unit": unit, "mentor": mentor, "units": list(unit_list(tenant=tenant)),
        "settings": attention_settings(tenant), "rule": attention_rule(tenant),
        "can_manage": actor.has_perm("care.manage")})


@require_perm("care.manage")
def attention_settings_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]

    def save() -> HttpResponse:
        attention_settings_update(tenant=tenant, actor=actor, data=posted_whole_numbers(
            request, ("days_since_contact", "months_since_lesson")))
        return redirect("community:care-attention", org_slug=org_slug)

    done, errors = form_post(request, save)
    if done is not None:
        return done
    return render(request, "community/care_attention_settings.html", {
        "settings": attention_settings(tenant), "errors": errors}, status=form_status(errors))


@require_perm("care.view")
def my_mentees(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    own_id = staff_contact_id(tenant=tenant, user_id=getattr(actor.acting_user, "pk", None))
    own = Contact.objects.filter(tenant=tenant, pk=own_id).first() if own_id else None
    links = list(mentor_links(tenant=tenant, mentor=own, actor=actor)) if own else []
    needing = set()
    if own is not None:
        needing = set(attention_list(tenant=tenant, mentor=own, actor=actor)
                      .values_list("pk", flat=True))
    return render(request, "community/care_mentees.html", {
        "own": own, "links": links, "needing": needing})


urlpatterns = [
    path("o/<slug:org_slug>/community/attention/", attention, name="care-attention"),
    path("o/<slug:org_slug>/community/attention/settings/", attention_settings_view,
         name="care-attention-settings"),
    path("o/<slug:org_slug>/community/mentees/", my_mentees, name="care-mentees"),
]
