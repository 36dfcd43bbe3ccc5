"""People → Contacts: the list (live search, filters, sort, columns, saved views, bulk
actions) and the create/edit form. The contact's own page is `people:contacts-detail`."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.api.base import PageParams, paginate
from tend.core.errors import TendError, ValidationFailed
from tend.core.forms.customfields import add_custom_fields, custom_values_from_form
from tend.core.models import Membership, Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.selectors.tags import tag_list
from tend.core.views.base import apply_errors, is_htmx, require_perm
from tend.people.choices import ContactStatus, LifecycleStage
from tend.people.lists import list_add, list_choices
from tend.people.models import Contact
from tend.people.selectors.contacts import (
    COLUMNS,
    DEFAULT_COLUMNS,
    company_list,
    contact_get,
    contact_list,
    contact_sort,
    savedview_get,
    savedview_list,
)
from tend.people.services.contacts import (
    contact_create,
    contact_delete,
    contact_edit,
    contact_tags_add,
    contact_tags_remove,
    contact_update,
)
from tend.people.services.savedviews import savedview_create, savedview_delete

PAGE_SIZE = 50
BULK_MAX = 500
FILTER_PARAMS = ("status", "lifecycle_stage", "owner", "tag", "company", "created_after",
                 "created_before", "has_email", "has_phone")
COLUMN_LABELS = {
    "email": gettext_lazy("Email"), "phone": gettext_lazy("Phone"),
    "company": gettext_lazy("Company"), "owner": pgettext_lazy("record owner", "Owner"),
    "lifecycle_stage": gettext_lazy("Lifecycle stage"), "status": gettext_lazy("Status"),
    "tags": gettext_lazy("Tags"), "city": gettext_lazy("City"),
    "created": gettext_lazy("Added"), "last_activity": gettext_lazy("Last activity"),
}
SORT_LABELS = {
    "name": gettext_lazy("Name, A to Z"), "-name": gettext_lazy("Name, Z to A"),
    "-created": gettext_lazy("Newest first"), "created": gettext_lazy("Oldest first"),
    "-last_activity": gettext_lazy("Recently active"),
    "last_activity": gettext_lazy("Least recently active"),
}


def _members(tenant: Tenant) -> list[tuple[str, str]]:
    rows = (Membership.objects.filter(tenant=tenant, is_active=True).select_related("user")
            .order_by("user__full_name", "user__email"))
    return [(str(m.user_id), m.user.full_name or m.user.email) for m in rows if m.is_current]


def _export_url(tenant: Tenant) -> str:
    try:
        return reverse("people:exports-create", kwargs={"org_slug": tenant.slug})
    except NoReverseMatch:
        return ""


def _list_state(request: HttpRequest) -> dict[str, Any]:
    """The list's search, filters, sort and columns from the query string (or a saved view)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    params = request.GET
    view = None
    if params.get("view") and not any(params.get(k) for k in ("q", "sort", *FILTER_PARAMS)):
        view = savedview_get(tenant=tenant, actor=actor, view_id=params["view"])
        saved = dict(view.filters)
        return {"view": view, "q": str(saved.pop("q", "")), "filters": saved,
                "sort": view.sort, "columns": [c for c in view.columns if c in COLUMNS]
                or list(DEFAULT_COLUMNS)}
    filters: dict[str, Any] = {k: params.get(k, "").strip()[:100] for k in FILTER_PARAMS
                               if params.get(k)}
    custom_any = {d.key: values for d in _multi_choice_fields(tenant)
                  if (values := [v[:100] for v in params.getlist(f"cf.{d.key}") if v])}
    if custom_any:
        filters["custom"] = custom_any
    columns = [c for c in params.getlist("cols") if c in COLUMNS] or list(DEFAULT_COLUMNS)
    return {"view": view, "q": params.get("q", "").strip()[:200], "filters": filters,
            "sort": params.get("sort", "").strip(), "columns": columns}


def _query_string(state: dict[str, Any], **extra: Any) -> str:
    pairs: list[tuple[str, str]] = []
    if state["q"]:
        pairs.append(("q", state["q"]))
    for key, value in state["filters"].items():
        if key == "custom" and isinstance(value, dict):  # multi-choice fields: any of
            pairs += [(f"cf.{name}", str(item)) for name, items in value.items()
                      for item in (items if isinstance(items, list) else [items])]
        else:
            pairs.append((key, str(value)))
    if state["sort"]:
        pairs.append(("sort", state["sort"]))
    pairs += [("cols", c) for c in state["columns"]]
    pairs += [(k, str(v)) for k, v in extra.items() if v]
    return urlencode(pairs)


def _multi_choice_fields(tenant: Tenant) -> list[Any]:
    return [d for d in custom_definitions(tenant=tenant, entity_type="contact",
                                          active_only=True) if d.field_type == "multi_choice"]


def _custom_filter_fields(request: HttpRequest, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The multi-choice custom fields the list filters by ("has any of"), with their choices
    labelled in the reader's language and the chosen ones marked."""
    language = getattr(request, "LANGUAGE_CODE", "en")
    custom = filters.get("custom")
    chosen: dict[str, Any] = custom if isinstance(custom, dict) else {}
    fields = []
    for definition in _multi_choice_fields(request.tenant):  # type: ignore[attr-defined]
        picked = chosen.get(definition.key) or []
        options = []
        for choice in definition.choices or []:
            label = choice.get("label") or {}
            options.append((choice.get("value"),
                            label.get(language) or label.get("en") or choice.get("value"),
                            choice.get("value") in picked))
        fields.append({"key": definition.key, "label": definition.label_for(language),
                       "options": options})
    return fields


@require_perm("contacts.view")
def contacts_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The contacts list. htmx requests get only the results table (live search)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    state = _list_state(request)
    error: ValidationFailed | None = None
    try:
        contacts = contact_list(tenant=tenant, actor=actor, search=state["q"],
                                filters=state["filters"], sort=state["sort"])
        page = paginate(contacts, PageParams(cursor=request.GET.get("cursor") or None,
                                             limit=PAGE_SIZE),
                        ordering=contact_sort(state["sort"]))
    except ValidationFailed as exc:
        error = exc
        page = {"items": [], "next_cursor": None}
    context: dict[str, Any] = {
        **state,
        "contacts": page["items"],
        "next_url": (f"?{_query_string(state, cursor=page['next_cursor'])}"
                     if page["next_cursor"] else ""),
        "query_string": _query_string(state),
        "error": error,
        "column_labels": [(c, COLUMN_LABELS[c], c in state["columns"]) for c in COLUMNS],
        "can_change": actor.has_perm("contacts.change"),
        "can_delete": actor.has_perm("contacts.delete"),
        "can_add": actor.has_perm("contacts.add"),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "contacts-results":
        return render(request, "people/partials/contacts_results.html", context,
                      status=422 if error else 200)
    context.update({
        "statuses": ContactStatus.choices,
        "stages": LifecycleStage.choices,
        "sorts": list(SORT_LABELS.items()),
        "owners": _members(tenant),
        "tags": list(tag_list(tenant=tenant)),
        "companies": list(company_list(tenant=tenant).values_list("pk", "name")),
        "saved_views": list(savedview_list(tenant=tenant, actor=actor)),
        "custom_filter_fields": _custom_filter_fields(request, state["filters"]),
        "can_share": actor.has_perm("contacts.manage"),
        "export_url": _export_url(tenant) if actor.has_perm("contacts.export") else "",
        "static_lists": _static_lists(tenant, actor),
    })
    return render(request, "people/contacts_list.html", context, status=422 if error else 200)


@require_POST
@require_perm("contacts.view")
def contacts_bulk(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Apply an action to the selected contacts: tag, assign an owner, or delete."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    action = request.POST.get("action", "")
    needs = {"tag": "contacts.change", "owner": "contacts.change", "delete": "contacts.delete",
             "segment": "segments.change"}
    needs["untag"] = "contacts.change"
    if action not in needs:
        messages.error(request, _("Choose an action."))
        return _back(request, tenant)
    if not actor.has_perm(needs[action]):
        raise PermissionDenied
    ids = []
    for raw in request.POST.getlist("ids")[:BULK_MAX]:
        try:
            ids.append(UUID(raw))
        except ValueError:
            continue
    contacts = list(Contact.objects.filter(tenant=tenant, pk__in=ids, deleted_at__isnull=True)
                    .exclude(status=ContactStatus.MERGED))
    if not contacts:
        messages.error(request, _("Select at least one contact."))
        return _back(request, tenant)
    if action == "segment":
        return _bulk_add_to_list(request, tenant, actor, contacts)
    try:
        with transaction.atomic():
            for contact in contacts:
                if action == "tag":
                    contact_tags_add(tenant=tenant, actor=actor, contact=contact,
                                     tags=[request.POST.get("tag", "")])
                elif action == "untag":
                    contact_tags_remove(tenant=tenant, actor=actor, contact=contact,
                                        tags=[request.POST.get("tag", "")])
                elif action == "owner":
                    contact_update(tenant=tenant, actor=actor, contact=contact,
                                   data={"owner": request.POST.get("owner") or None})
                else:
                    contact_delete(tenant=tenant, actor=actor, contact=contact)
    except ValidationFailed as exc:
        text = "; ".join(m for ms in exc.fields.values() for m in ms) or exc.message
        messages.error(request, text)
        return _back(request, tenant)
    done = {"tag": _("Tagged %(count)d contacts."),
            "owner": _("Assigned an owner to %(count)d contacts."),
            "untag": _("Removed the tag from %(count)d contacts."),
            "delete": _("Deleted %(count)d contacts.")}[action]
    messages.success(request, done % {"count": len(contacts)})
    return _back(request, tenant)


def _static_lists(tenant: Tenant, actor: Actor) -> list[tuple[str, str]]:
    """The lists the "Add to list" bulk action offers (none without a list provider)."""
    return list_choices(tenant=tenant, actor=actor)


def _bulk_add_to_list(request: HttpRequest, tenant: Tenant, actor: Actor,
                      contacts: list[Contact]) -> HttpResponse:
    try:
        name, count = list_add(tenant=tenant, actor=actor,
                               list_id=request.POST.get("segment", ""),
                               contact_ids=[c.pk for c in contacts], source="BULK")
    except TendError as exc:
        text = "; ".join(m for ms in exc.fields.values() for m in ms) or exc.message
        messages.error(request, text)
        return _back(request, tenant)
    messages.success(request, _("Added %(count)d contacts to %(name)s.") % {
        "count": count, "name": name})
    return _back(request, tenant)


def _back(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    url = reverse("people:contacts-list", kwargs={"org_slug": tenant.slug})
    query = request.POST.get("return_query", "")
    return redirect(f"{url}?{query}" if query else url)


@require_POST
@require_perm("contacts.view")
def savedviews_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Save the list's current search, filters, columns and sort under a name."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    state = _list_state(request)
    try:
        view = savedview_create(
            tenant=tenant, actor=actor, name=request.POST.get("name", ""),
            filters=state["filters"], columns=state["columns"], sort=state["sort"],
            search=state["q"], is_shared=request.POST.get("is_shared") == "on")
    except TendError as exc:
        text = "; ".join(m for ms in exc.fields.values() for m in ms) or exc.message
        messages.error(request, text)
        url = reverse("people:contacts-list", kwargs={"org_slug": tenant.slug})
        return redirect(f"{url}?{_query_string(state)}")
    messages.success(request, _("The view %(name)s was saved.") % {"name": view.name})
    url = reverse("people:contacts-list", kwargs={"org_slug": tenant.slug})
    return redirect(f"{url}?view={view.pk}")


@require_POST
@require_perm("contacts.view")
def savedviews_delete(request: HttpRequest, org_slug: str, view_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    view = savedview_get(tenant=tenant, actor=actor, view_id=view_id)
    name = view.name
    savedview_delete(tenant=tenant, actor=actor, view=view)
    messages.success(request, _("The view %(name)s was deleted.") % {"name": name})
    return redirect("people:contacts-list", org_slug=tenant.slug)


# --- the form --------------------------------------------------------------------------------


class ContactForm(forms.Form):
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=100,
                                 required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=100,
                                required=False)
    display_name = forms.CharField(
        label=gettext_lazy("Display name"), max_length=200, required=False,
        help_text=gettext_lazy("Leave empty to use the first and last name."))
    emails = forms.CharField(label=gettext_lazy("Emails"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2, "dir": "ltr"}),
                             help_text=gettext_lazy("One per line; the first is the main one."))
    phones = forms.CharField(label=gettext_lazy("Phones"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2, "dir": "ltr"}),
                             help_text=gettext_lazy("One per line; the first is the main one."))
    job_title = forms.CharField(label=gettext_lazy("Job title"), max_length=100, required=False)
    company = forms.ChoiceField(label=gettext_lazy("Company"), required=False)
    owner = forms.ChoiceField(label=pgettext_lazy("record owner", "Owner"), required=False)
    lifecycle_stage = forms.ChoiceField(label=gettext_lazy("Lifecycle stage"), required=False,
                                        choices=[("", "—"), *LifecycleStage.choices])
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=[
        (ContactStatus.ACTIVE, ContactStatus.ACTIVE.label),
        (ContactStatus.INACTIVE, ContactStatus.INACTIVE.label)])
    address_line1 = forms.CharField(label=gettext_lazy("Address"), max_length=200,
                                    required=False)
    address_line2 = forms.CharField(label=gettext_lazy("Address line 2"), max_length=200,
                                    required=False)
    city = forms.CharField(label=gettext_lazy("City"), max_length=100, required=False)
    state = forms.CharField(label=gettext_lazy("State / province"), max_length=100,
                            required=False)
    postal_code = forms.CharField(label=gettext_lazy("Postal code"), max_length=20,
                                  required=False)
    country = forms.CharField(label=gettext_lazy("Country"), max_length=2, required=False,
                              help_text=gettext_lazy("Two-letter code, e.g. AE."))
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    time_zone = forms.CharField(label=gettext_lazy("Time zone"), max_length=64, required=False,
                                help_text=gettext_lazy("e.g. Asia/Dubai"))
    tags = forms.MultipleChoiceField(label=gettext_lazy("Tags"), required=False,
                                     widget=forms.CheckboxSelectMultiple)

    FIELDS = ("first_name", "last_name", "display_name", "job_title", "company", "owner",
              "lifecycle_stage", "status", "address_line1", "address_line2", "city", "state",
              "postal_code", "country", "language", "time_zone")

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["company"]).choices = [("", "—"), *[
            (str(pk), name) for pk, name in company_list(tenant=tenant).values_list("pk",
                                                                                   "name")]]
        cast(forms.ChoiceField, self.fields["owner"]).choices = [("", "—"), *_members(tenant)]
        cast(forms.ChoiceField, self.fields["language"]).choices = [("", "—"), *settings.LANGUAGES]
        tags = [(str(t.pk), t.name) for t in tag_list(tenant=tenant)]
        cast(forms.ChoiceField, self.fields["tags"]).choices = tags
        self.definitions = custom_definitions(tenant=tenant, entity_type="contact",
                                              active_only=True)
        add_custom_fields(self, definitions=self.definitions, tenant=tenant,
                          values=self.initial.get("_custom"))

    def service_input(self) -> dict[str, Any]:
        data = {k: self.cleaned_data[k] for k in self.FIELDS}
        data["custom"] = custom_values_from_form(self, self.definitions)
        return {
            "data": data,
            "emails": [v for v in self.cleaned_data["emails"].splitlines() if v.strip()],
            "phones": [v for v in self.cleaned_data["phones"].splitlines() if v.strip()],
            "tags": self.cleaned_data["tags"],
        }


def _initial(contact: Contact) -> dict[str, Any]:
    initial: dict[str, Any] = {k: getattr(contact, k) for k in ContactForm.FIELDS
                               if k not in ("company", "owner")}
    initial["display_name"] = contact.display_name if contact.display_name_custom else ""
    initial["company"] = str(contact.company_id or "")
    initial["owner"] = str(contact.owner_id or "")
    aliases = list(contact.aliases.all())
    initial["emails"] = "\n".join(a.value for a in sorted(
        (a for a in aliases if a.type == "EMAIL" and not a.system), key=lambda a: not a.is_primary))
    initial["phones"] = "\n".join(a.value for a in sorted(
        (a for a in aliases if a.type == "PHONE" and not a.system), key=lambda a: not a.is_primary))
    initial["tags"] = [str(link.tag_id) for link in contact.tag_links.all()]
    initial["_custom"] = contact.custom
    return initial


def _form_page(request: HttpRequest, form: ContactForm, contact: Contact | None,
               status: int = 200) -> HttpResponse:
    custom_names = [f"custom.{d.key}" for d in form.definitions if f"custom.{d.key}" in form.fields]
    return render(request, "people/contact_form.html", {
        "form": form, "contact": contact, "custom_fields": [form[n] for n in custom_names],
    }, status=status)


FIELD_MAP = {"email": "emails", "phone": "phones", "first_name": "first_name"}


@require_perm("contacts.add")
def contacts_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """A form to add a contact; on success, the contact's page."""
    tenant = request.tenant  # type: ignore[attr-defined]
    if request.method != "POST":
        return _form_page(request, ContactForm(tenant=tenant, initial={"status": "ACTIVE"}),
                          None)
    form = ContactForm(request.POST, tenant=tenant)
    if form.is_valid():
        try:
            contact = contact_create(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                     **form.service_input())
        except TendError as exc:
            apply_errors(form, exc, field_map=FIELD_MAP)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": str(contact)})
            return redirect(_detail_url(tenant, contact))
    return _form_page(request, form, None, status=422)


def _detail_url(tenant: Tenant, contact: Contact) -> str:
    try:
        return reverse("people:contacts-detail",
                       kwargs={"org_slug": tenant.slug, "contact_id": contact.pk})
    except NoReverseMatch:
        return reverse("people:contacts-edit",
                       kwargs={"org_slug": tenant.slug, "contact_id": contact.pk})


@require_perm("contacts.change")
def contacts_edit(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    """The contact's fields, identities, tags and custom fields."""
    tenant = request.tenant  # type: ignore[attr-defined]
    contact = contact_get(tenant=tenant, contact_id=contact_id, include_deleted=False)
    if request.method != "POST":
        return _form_page(request, ContactForm(tenant=tenant, initial=_initial(contact)),
                          contact)
    form = ContactForm(request.POST, tenant=tenant, initial={"_custom": contact.custom})
    if form.is_valid():
        try:
            contact_edit(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                         contact=contact, **form.service_input())
        except TendError as exc:
            apply_errors(form, exc, field_map=FIELD_MAP)
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": str(contact)})
            return redirect(_detail_url(tenant, contact))
    return _form_page(request, form, contact, status=422)


prefix = "o/<slug:org_slug>/people/contacts/"
urlpatterns = [
    path(prefix, contacts_list, name="contacts-list"),
    path(f"{prefix}new/", contacts_create, name="contacts-create"),
    path(f"{prefix}bulk/", contacts_bulk, name="contacts-bulk"),
    path(f"{prefix}views/", savedviews_create, name="savedviews-create"),
    path(f"{prefix}views/<uuid:view_id>/delete/", savedviews_delete, name="savedviews-delete"),
    path(f"{prefix}<uuid:contact_id>/edit/", contacts_edit, name="contacts-edit"),
]
