"""People → Companies: the list (live search), a company's page with its contacts, and the
create/edit form."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.api.base import PageParams, paginate
from tend.core.errors import TendError, ValidationFailed
from tend.core.forms.customfields import add_custom_fields, custom_values_from_form
from tend.core.models import Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.views.base import apply_errors, is_htmx, require_perm
from tend.people.models import Company
from tend.people.selectors.contacts import company_contacts, company_get, company_list
from tend.people.selectors.timeline import TIMELINE_ORDERING, timeline_for_company
from tend.people.services.companies import company_create, company_delete, company_update
from tend.people.timeline import render_timeline
from tend.people.views.contact_page import TIMELINE_PAGE, TimelineFilterForm
from tend.people.views.contacts import _members

LIST_LIMIT = 200


@require_perm("companies.view")
def companies_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The companies with their number of contacts; htmx gets only the results."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    search = request.GET.get("q", "").strip()[:200]
    companies = list(company_list(tenant=tenant, search=search)[:LIST_LIMIT])
    context = {"companies": companies, "q": search, "can_add": actor.has_perm("companies.add"),
               "truncated": len(companies) == LIST_LIMIT}
    if is_htmx(request) and request.headers.get("HX-Target") == "companies-results":
        return render(request, "people/partials/companies_results.html", context)
    return render(request, "people/companies_list.html", context)


@require_perm("companies.view")
def companies_detail(request: HttpRequest, org_slug: str, company_id: UUID) -> HttpResponse:
    """A company's profile and its contacts."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    company = company_get(tenant=tenant, company_id=company_id)
    contacts = (list(company_contacts(tenant=tenant, company=company)[:LIST_LIMIT])
                if actor.has_perm("contacts.view") else None)
    definitions = custom_definitions(tenant=tenant, entity_type="company", active_only=True)
    custom = [(d.label_for(request.LANGUAGE_CODE), company.custom[d.key])  # type: ignore[attr-defined]
              for d in definitions if d.key in company.custom]
    context: dict[str, Any] = {
        "company": company, "contacts": contacts, "custom": custom,
        "can_change": actor.has_perm("companies.change"),
        "can_delete": actor.has_perm("companies.delete"),
        "can_timeline": actor.has_perm("activities.view") and actor.has_perm("contacts.view"),
    }
    if context["can_timeline"]:
        filter_form = TimelineFilterForm(request.GET or None)
        context["filter_form"] = filter_form
        context.update(_timeline_page(request, company, filter_form.filters(), None))
    return render(request, "people/company_detail.html", context)


def _timeline_page(request: HttpRequest, company: Company, filters: dict[str, Any],
                   cursor: str | None) -> dict[str, Any]:
    tenant = request.tenant  # type: ignore[attr-defined]
    page = paginate(timeline_for_company(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                         company=company, filters=filters),
                    PageParams(cursor=cursor, limit=TIMELINE_PAGE), ordering=TIMELINE_ORDERING)
    query = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()}
    return {"entries": render_timeline(page["items"]), "next_cursor": page["next_cursor"],
            "filter_query": query, "show_contact": True,
            "timeline_url": reverse("people:companies-timeline",
                                    kwargs={"org_slug": tenant.slug, "company_id": company.pk})}


@require_perm("companies.view", "contacts.view", "activities.view")
def companies_timeline(request: HttpRequest, org_slug: str, company_id: UUID) -> HttpResponse:
    """A page of the company's timeline (htmx): its own activities and its people's, with the
    contact page's filters and infinite scroll."""
    tenant = request.tenant  # type: ignore[attr-defined]
    company = company_get(tenant=tenant, company_id=company_id)
    filter_form = TimelineFilterForm(request.GET)
    if not filter_form.is_valid():
        return render(request, "people/partials/timeline_items.html",
                      {"tenant": tenant, "entries": [], "filter_errors": filter_form.errors},
                      status=422)
    try:
        context = _timeline_page(request, company, filter_form.filters(),
                                 request.GET.get("cursor") or None)
    except ValidationFailed:
        return HttpResponse(_("The cursor is not valid."), status=422)
    return render(request, "people/partials/timeline_items.html", {"tenant": tenant, **context})


class CompanyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    name_ar = forms.CharField(label=gettext_lazy("Name in Arabic"), max_length=200,
                              required=False)
    sector = forms.CharField(label=gettext_lazy("Sector"), max_length=100, required=False)
    size = forms.CharField(label=gettext_lazy("Size"), max_length=20, required=False)
    website = forms.CharField(label=gettext_lazy("Website"), max_length=200, required=False,
                              widget=forms.URLInput(attrs={"dir": "ltr"}))
    domain = forms.CharField(label=gettext_lazy("Email domain"), max_length=253,
                             required=False, widget=forms.TextInput(attrs={"dir": "ltr"}))
    city = forms.CharField(label=gettext_lazy("City"), max_length=100, required=False)
    region = forms.CharField(label=gettext_lazy("Region"), max_length=100, required=False)
    country = forms.CharField(label=gettext_lazy("Country"), max_length=2, required=False,
                              help_text=gettext_lazy("Two-letter code, e.g. AE."))
    registration_number = forms.CharField(label=gettext_lazy("Registration number"),
                                          max_length=100, required=False)
    owner = forms.ChoiceField(label=pgettext_lazy("record owner", "Owner"), required=False)

    FIELDS = ("name", "sector", "size", "website", "domain", "city", "region", "country",
              "registration_number", "owner")

    def __init__(self, *args: Any, tenant: Tenant, custom: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["owner"]).choices = [("", "—"), *_members(tenant)]
        self.definitions = custom_definitions(tenant=tenant, entity_type="company",
                                              active_only=True)
        self.custom_names = add_custom_fields(self, definitions=self.definitions,
                                              tenant=tenant, values=custom)

    def service_data(self, names: dict[str, str]) -> dict[str, Any]:
        data = {k: self.cleaned_data[k] for k in self.FIELDS}
        others = {k: v for k, v in names.items() if k != "ar"}
        if self.cleaned_data["name_ar"]:
            others["ar"] = self.cleaned_data["name_ar"]
        data["names"] = others
        data["custom"] = custom_values_from_form(self, self.definitions)
        return data


def _form_page(request: HttpRequest, form: CompanyForm, company: Company | None,
               status: int = 200) -> HttpResponse:
    return render(request, "people/company_form.html", {
        "form": form, "company": company,
        "custom_fields": [form[n] for n in form.custom_names],
    }, status=status)


@require_perm("companies.add")
def companies_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    if request.method != "POST":
        return _form_page(request, CompanyForm(tenant=tenant), None)
    form = CompanyForm(request.POST, tenant=tenant)
    if form.is_valid():
        try:
            company = company_create(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                     data=form.service_data({}))
        except TendError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": company.name})
            return redirect("people:companies-detail", org_slug=tenant.slug,
                            company_id=company.pk)
    return _form_page(request, form, None, status=422)


@require_perm("companies.change")
def companies_edit(request: HttpRequest, org_slug: str, company_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    company = company_get(tenant=tenant, company_id=company_id)
    if request.method != "POST":
        initial = {k: getattr(company, k) for k in CompanyForm.FIELDS if k != "owner"}
        initial["owner"] = str(company.owner_id or "")
        initial["name_ar"] = (company.names or {}).get("ar", "")
        return _form_page(request, CompanyForm(tenant=tenant, initial=initial,
                                               custom=company.custom), company)
    form = CompanyForm(request.POST, tenant=tenant, custom=company.custom)
    if form.is_valid():
        try:
            company_update(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                           company=company, data=form.service_data(company.names or {}))
        except TendError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": company.name})
            return redirect("people:companies-detail", org_slug=tenant.slug,
                            company_id=company.pk)
    return _form_page(request, form, company, status=422)


@require_POST
@require_perm("companies.delete")
def companies_delete(request: HttpRequest, org_slug: str, company_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    company = company_get(tenant=tenant, company_id=company_id)
    company_delete(tenant=tenant, actor=request.actor, company=company)  # type: ignore[attr-defined]
    messages.success(request, _("%(name)s was deleted.") % {"name": company.name})
    return redirect("people:companies-list", org_slug=tenant.slug)


prefix = "o/<slug:org_slug>/people/companies/"
urlpatterns = [
    path(prefix, companies_list, name="companies-list"),
    path(f"{prefix}new/", companies_create, name="companies-create"),
    path(f"{prefix}<uuid:company_id>/", companies_detail, name="companies-detail"),
    path(f"{prefix}<uuid:company_id>/timeline/", companies_timeline, name="companies-timeline"),
    path(f"{prefix}<uuid:company_id>/edit/", companies_edit, name="companies-edit"),
    path(f"{prefix}<uuid:company_id>/delete/", companies_delete, name="companies-delete"),
]
