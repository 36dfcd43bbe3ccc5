"""Pod pages: the pod list (create a pod), one pod (members, meetings, attendance form, CSV
import), the matching review (propose, move someone, confirm) and the KPI dashboard."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from tend.community.models import (
    ExperienceLevel,
    PodMembershipStatus,
    PodStatus,
)
from tend.community.selectors.pods_core import (
    meeting_get,
    meeting_list,
    pod_get,
    pod_list,
    pod_members,
    run_get,
    run_latest,
)
from tend.community.selectors.pods_kpis import pods_kpi_series, pods_kpis
from tend.community.services.matching import matching_adjust, matching_confirm, matching_propose
from tend.community.services.pods_core import (
    attendance_import,
    attendance_record,
    meetings_generate,
    membership_update,
    next_meeting_at,
    pod_create,
    pod_join,
    pod_leave,
    pod_refresh_health,
    pod_update,
)
from tend.community.views import pods_edit
from tend.core.errors import NotFound, ValidationFailed
from tend.core.selectors.lookup import one_or_not_found
from tend.core.views.base import require_perm, tenant_and_actor
from tend.marketing.chart import growth_chart
from tend.people.selectors.contact_page import access_contact

DAYS = ((1, _("Monday")), (2, _("Tuesday")), (3, _("Wednesday")), (4, _("Thursday")),
        (5, _("Friday")), (6, _("Saturday")), (7, _("Sunday")))


@require_perm("pods.view")
def pods_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            pod = pod_create(tenant=tenant, actor=actor, data={
                k: request.POST.get(k, "") for k in (
                    "name", "day_of_week", "time", "time_zone", "capacity",
                    "duration_minutes", "meeting_link", "target_goals_category",
                    "target_experience_level")})
            return redirect("community:pod", org_slug=org_slug, pod_id=pod.pk)
        except ValidationFailed as exc:
            errors = exc.fields
    pods = list(pod_list(tenant=tenant)[:500])
    rows = [(pod, next_meeting_at(pod) if pod.status != PodStatus.DISBANDED else None)
            for pod in pods]
    return render(request, "community/pods_list.html", {
        "rows": rows, "errors": errors, "days": DAYS, "levels": ExperienceLevel.choices,
        "can_change": actor.has_perm("pods.change")}, status=422 if errors else 200)


POD_FIELDS = ("name", "description", "day_of_week", "time", "time_zone", "capacity",
              "duration_minutes", "meeting_link", "status", "target_goals_category",
              "target_experience_level")


def _hours(request: HttpRequest, name: str, errors: dict[str, list[str]]) -> int | None:
    """A UTC offset typed in hours ("+3", "-4.5", "5:30") as minutes; empty is None."""
    raw = (request.POST.get(name) or "").strip().replace("\u2212", "-")
    if not raw:
        return None
    try:
        if ":" in raw:
            hours, minutes = raw.split(":", 1)
            sign = -1 if hours.strip().startswith("-") else 1
            return sign * (abs(int(hours)) * 60 + int(minutes))
        return round(float(raw) * 60)
    except (ValueError, OverflowError):
        errors[name] = [str(_("Enter hours from UTC, like +3 or -4.5."))]
        return None


def _pod_form(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {k: request.POST.get(k, "") for k in POD_FIELDS
                            if k in request.POST}
    errors: dict[str, list[str]] = {}
    for name in ("target_utc_offset_min", "target_utc_offset_max"):
        if name in request.POST:
            data[name] = _hours(request, name, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    return data


@require_perm("pods.view")
def pod_page(request: HttpRequest, org_slug: str, pod_id: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    pod = pod_get(tenant=tenant, pod_id=pod_id)
    errors: dict[str, list[str]] = {}
    notice = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "member":
                try:
                    contact = access_contact(tenant=tenant,
                                             contact_id=request.POST.get("contact_id"),
                                             actor=actor)
                except NotFound:
                    raise ValidationFailed(fields={"contact_id": [
                        str(_("Choose a contact of this organization."))]}) from None
                pod_join(tenant=tenant, actor=actor, pod=pod, contact=contact)
            elif action == "membership":
                member = one_or_not_found(pod_members(tenant=tenant, pod=pod),
                                          request.POST.get("membership_id"),
                                          str(_("No such membership.")))
                membership_update(tenant=tenant, actor=actor, membership=member, data={
                    "status": request.POST.get("status", ""),
                    "payment_active": request.POST.get("payment_active") == "on",
                    "last_payment_at": request.POST.get("last_payment_at", "")})
            elif action == "leave":
                member = one_or_not_found(pod_members(tenant=tenant, pod=pod),
                                          request.POST.get("membership_id"),
                                          str(_("No such membership.")))
                pod_leave(tenant=tenant, actor=actor, membership=member)
            elif action == "edit":
                pod_update(tenant=tenant, actor=actor, pod=pod, data=_pod_form(request))
            elif action == "generate":
                meetings_generate(tenant=tenant, pod=pod, weeks=4)
            elif action == "attendance":
                meeting = meeting_get(tenant=tenant, meeting_id=request.POST.get("meeting_id"))
                for member in pod_members(tenant=tenant, pod=pod):
                    value = request.POST.get(f"m-{member.contact_id}")
                    if value in ("yes", "no"):
                        attendance_record(tenant=tenant, actor=actor, meeting=meeting,
                                          contact=member.contact, attended=value == "yes")
            elif action == "import":
                upload = request.FILES.get("file")
                try:
                    content = upload.read().decode("utf-8-sig") if upload else ""
                except UnicodeDecodeError:
                    raise ValidationFailed(fields={"file": [
                        str(_("Upload the CSV file saved as UTF-8."))]}) from None
                result = attendance_import(tenant=tenant, actor=actor, pod=pod,
                                           content=content)
                notice = result
            if action in ("attendance", "import"):
                pod_refresh_health(tenant=tenant, pod=pod)
            if notice is None:
                return redirect("community:pod", org_slug=org_slug, pod_id=pod.pk)
        except ValidationFailed as exc:
            errors = exc.fields or {"file": [exc.message]}
        pod = pod_get(tenant=tenant, pod_id=pod_id)
    meetings = list(meeting_list(tenant=tenant, pod=pod).order_by("-scheduled_at")[:12])
    return render(request, "community/pods_detail.html", {
        "pod": pod, "members": list(pod_members(tenant=tenant, pod=pod)[:100]),
        "meetings": meetings, "next_at": next_meeting_at(pod), "errors": errors,
        "notice": notice, "can_change": actor.has_perm("pods.change"), "days": DAYS,
        "levels": ExperienceLevel.choices, "statuses": PodStatus.choices,
        "member_statuses": [(v, label) for v, label in PodMembershipStatus.choices
                            if v != PodMembershipStatus.LEFT],
        "offset_min": _as_hours(pod.target_utc_offset_min),
        "offset_max": _as_hours(pod.target_utc_offset_max)},
        status=422 if errors else 200)


def _as_hours(minutes: int | None) -> str:
    if minutes is None:
        return ""
    hours = minutes / 60
    text = f"{hours:+.2f}".rstrip("0").rstrip(".")
    return text


@require_perm("pods.change")
def matching_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    errors: dict[str, list[str]] = {}
    run = None
    if request.GET.get("run"):
        run = run_get(tenant=tenant, run_id=request.GET["run"])
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "propose":
                run = matching_propose(tenant=tenant, actor=actor)
            elif run is not None and action == "adjust":
                matching_adjust(tenant=tenant, actor=actor, run=run,
                                contact_id=request.POST.get("contact_id", ""),
                                pod=request.POST.get("pod", ""))
            elif run is not None and action == "confirm":
                matching_confirm(tenant=tenant, actor=actor, run=run)
            if run is not None:
                return redirect(f"{request.path}?run={run.pk}")
        except ValidationFailed as exc:
            errors = exc.fields
    if run is None:
        run = run_latest(tenant=tenant)
    choices: list[tuple[str, str]] = []
    if run is not None:
        choices = [(n["key"], n["name"]) for n in run.proposal.get("new_pods", [])]
        choices += [(str(p.pk), p.name) for p in pod_list(tenant=tenant).exclude(
            status=PodStatus.DISBANDED)[:200]]
    return render(request, "community/pods_matching.html", {
        "run": run, "choices": choices, "errors": errors,
        "new_names": dict(choices)})


@require_perm("pods.view")
def kpis_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, _actor = tenant_and_actor(request)
    series = pods_kpi_series(tenant=tenant)
    charts = [
        ("attendance", growth_chart([(r["week"], int(r["attendance"])) for r in series])),
        ("active", growth_chart([(r["week"], r["active"]) for r in series])),
        ("completed", growth_chart([(r["week"], r["completed"]) for r in series])),
        ("new", growth_chart([(r["week"], r["new"]) for r in series])),
    ]
    return render(request, "community/pods_kpis.html", {
        "kpis": pods_kpis(tenant=tenant), "series": series, "charts": charts})


urlpatterns = [
    path("o/<slug:org_slug>/community/pods/", pods_page, name="pods"),
    path("o/<slug:org_slug>/community/pods/matching/", matching_page, name="pods-matching"),
    path("o/<slug:org_slug>/community/pods/kpis/", kpis_page, name="pods-kpis"),
    path("o/<slug:org_slug>/community/pods/<str:pod_id>/", pod_page, name="pod"),
    *pods_edit.urlpatterns,
]
