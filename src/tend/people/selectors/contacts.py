"""Reading contacts and companies (call inside the tenant scope).

Search matches a contact's name, email or phone:

- an input that reads as an email or a phone number is also normalized and matched exactly
  against every identity (`IdentityAlias`), so secondary addresses find their contact;
- PostgreSQL: `ILIKE '%…%'` on the display name and the primary email and phone, plus the
  pg_trgm word-similarity operator on the name for misspellings ("Mohamad" finds
  "Mohammed"); GIN trigram indexes serve both (see `tend.people.search`);
- SQLite: prefix matching of every word through the FTS5 table `people_contact_fts`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.customfields import custom_value_normalize
from tend.people.choices import AliasType, ContactStatus, LifecycleStage
from tend.people.identities import normalize_email, normalize_phone
from tend.people.models import Company, Contact, ContactTag, IdentityAlias, SavedView
from tend.people.search import FTS_TABLE
from tend.people.visibility import visible_contacts

SEARCH_MAX = 200
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# sort key → the cursor-paginable ordering (unique, non-null fields; see core.api.base.paginate)
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("display_name", "id"),
    "-name": ("-display_name", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "last_activity": ("last_activity_sort", "id"),
    "-last_activity": ("-last_activity_sort", "-id"),
}
DEFAULT_SORT = "name"
# Columns the contacts list can show, in display order (the name is always shown).
COLUMNS = ("email", "phone", "company", "owner", "lifecycle_stage", "status", "tags", "city",
           "created", "last_activity")
DEFAULT_COLUMNS = ("email", "phone", "company", "lifecycle_stage", "owner", "tags")
FILTER_KEYS = frozenset({
    "status", "lifecycle_stage", "owner", "tag", "company", "created_after", "created_before",
    "has_email", "has_phone", "custom", "include_deleted",
})
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class _ILike(Func):
    """`column ILIKE pattern` (PostgreSQL), as a boolean expression that trigram indexes serve.

    Django's `icontains` compares UPPER(column::text), which a plain trigram index cannot use.
    """

    arg_joiner = " ILIKE "
    template = "(%(expressions)s)"
    output_field = BooleanField()


class _WordSimilar(Func):
    """`column %> query`: the query is similar to some word extent of the column (pg_trgm)."""

    arg_joiner = " %%> "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _exact_alias_ids(tenant: Tenant, search: str) -> QuerySet[Any, Any] | None:
    """Contacts holding `search` as an identity, when it reads as an email or a phone."""
    values: list[tuple[str, str]] = []
    if "@" in search:
        with contextlib.suppress(ValidationFailed):
            values.append((AliasType.EMAIL, normalize_email(search)))
    elif sum(ch.isdigit() for ch in search) >= 6:
        try:
            phone = normalize_phone(search, tenant.region or "US")
            values += [(AliasType.PHONE, phone), (AliasType.WHATSAPP, phone)]
        except ValidationFailed:
            pass
    if not values:
        return None
    condition = Q()
    for type_, value in values:
        condition |= Q(type=type_, value=value)
    return IdentityAlias.objects.filter(condition, tenant=tenant).values("contact_id")


def _fts_query(search: str) -> str:
    words = re.findall(r"\w+", search)
    return " ".join(f'"{w}"*' for w in words[:10])


def search_condition(tenant: Tenant, search: str) -> Q:
    """The filter a contact must pass to match `search` (see the module docstring)."""
    search = " ".join(search.split())[:SEARCH_MAX]
    condition = Q(pk__in=[])
    digits = re.sub(r"\D", "", search)
    if connection.vendor == "postgresql":
        pattern = Value(_like_pattern(search))
        condition = (
            Q(_ILike(F("display_name"), pattern)) | Q(_ILike(F("primary_email"), pattern))
            | Q(_WordSimilar(F("display_name"), Value(search)))
        )
        if len(digits) >= 3:
            condition |= Q(primary_phone__contains=digits)
    else:
        query = _fts_query(search)
        if query:
            # Only constants are formatted in; the user's words are a bound parameter.
            condition = Q(pk__in=RawSQL(  # noqa: S611
                f"SELECT c.id FROM {Contact._meta.db_table} c WHERE c.rowid IN "
                f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)", [query]))
        if len(digits) >= 3:
            condition |= Q(primary_phone__contains=digits)
    exact = _exact_alias_ids(tenant, search)
    if exact is not None:
        condition |= Q(pk__in=exact)
    return condition


def _flag(value: Any, field: str, errors: dict[str, list[str]]) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return None if text == "" else False
    errors[field] = [_("Give true or false.")]
    return None


def _uuid(value: Any, field: str, errors: dict[str, list[str]]) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (ValueError, TypeError):
        errors[field] = [_("Choose one of the listed options.")]
        return None


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors[field] = [_("Enter a date as YYYY-MM-DD.")]
        return None


def _custom_condition(tenant: Tenant, custom: Any, errors: dict[str, list[str]]) -> Q:
    if not isinstance(custom, Mapping):
        errors["custom"] = [_("Give custom field filters as key: value.")]
        return Q()
    by_key = {d.key: d for d in custom_definitions(tenant=tenant, entity_type="contact")}
    condition = Q()
    for key, value in custom.items():
        definition = by_key.get(key)
        name = f"custom.{key}"
        if definition is None:
            errors[name] = [_("There is no custom field with this key.")]
            continue
        if definition.field_type == "multi_choice":
            condition &= _has_any_condition(definition, value, name, errors)
            continue
        if value in (None, ""):
            condition &= ~Q(custom__has_key=key)
            continue
        try:
            normalized = custom_value_normalize(definition, value, tenant=tenant)
        except ValidationFailed as exc:
            errors.update(exc.fields)
            continue
        condition &= Q(**{f"custom__{key}": normalized})
    return condition


def _has_any_condition(definition: Any, value: Any, name: str,
                       errors: dict[str, list[str]]) -> Q:
    """Contacts whose multi-choice field holds any of `value` (one choice or a list).

    PostgreSQL uses JSON containment (`@>`). SQLite has no containment operator for JSON, so
    each list position up to the number of choices is compared (stored lists hold each
    choice at most once)."""
    wanted = [value] if isinstance(value, str) else value
    if not isinstance(wanted, list | tuple) or not wanted or not all(
            isinstance(v, str) for v in wanted):
        errors[name] = [_("Choose one or more of the field's choices.")]
        return Q()
    order = [c.get("value") for c in definition.choices or []]
    unknown = [v for v in wanted if v not in order]
    if unknown:
        errors[name] = [_("Not a choice of this field: %(values)s.")
                        % {"values": ", ".join(unknown)}]
        return Q()
    condition = Q(pk__in=[])
    for choice in dict.fromkeys(wanted):
        if connection.vendor == "postgresql":
            condition |= Q(**{f"custom__{definition.key}__contains": [choice]})
            continue
        for position in range(len(order)):
            condition |= Q(**{f"custom__{definition.key}__{position}": choice})
    return condition


def contact_filter_condition(*, tenant: Tenant, actor: Actor | None,
                             filters: Mapping[str, Any]) -> tuple[Q, bool]:
    """The Q for `filters` and whether deleted contacts were asked for; `ValidationFailed` with
    a message per bad filter. Empty values mean "no filter"."""
    errors: dict[str, list[str]] = {}
    for key in sorted(set(filters) - FILTER_KEYS):
        errors[str(key)] = [_("Unknown filter.")]
    condition = Q()
    status = filters.get("status") or ""
    if status:
        if status not in ContactStatus.values:
            errors["status"] = [_("Choose one of the listed options.")]
        else:
            condition &= Q(status=status)
    stage = filters.get("lifecycle_stage") or ""
    if stage:
        if stage == "none":
            condition &= Q(lifecycle_stage="")
        elif stage not in LifecycleStage.values:
            errors["lifecycle_stage"] = [_("Choose one of the listed options.")]
        else:
            condition &= Q(lifecycle_stage=stage)
    owner = filters.get("owner") or ""
    if owner == "none":
        condition &= Q(owner__isnull=True)
    elif owner == "me":
        user = actor.user if actor is not None else None
        condition &= Q(owner=user) if user is not None else Q(pk__in=[])
    elif owner:
        owner_id = _uuid(owner, "owner", errors)
        condition &= Q(owner_id=owner_id)
    tag = filters.get("tag") or ""
    if tag:
        tag_id = _uuid(tag, "tag", errors)
        if tag_id is not None:
            condition &= Q(Exists(ContactTag.objects.filter(
                tenant=tenant, contact=OuterRef("pk"), tag_id=tag_id)))
    company = filters.get("company") or ""
    if company == "none":
        condition &= Q(company__isnull=True)
    elif company:
        condition &= Q(company_id=_uuid(company, "company", errors))
    zone = timezone.get_current_timezone()
    if filters.get("created_after"):
        day = _date(filters["created_after"], "created_after", errors)
        if day:
            condition &= Q(created_at__gte=dt.datetime.combine(day, dt.time.min, zone))
    if filters.get("created_before"):
        day = _date(filters["created_before"], "created_before", errors)
        if day:
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, zone)
            condition &= Q(created_at__lt=end)
    for key, column in (("has_email", "primary_email"), ("has_phone", "primary_phone")):
        flag = _flag(filters.get(key), key, errors)
        if flag is True:
            condition &= ~Q(**{column: ""})
        elif flag is False:
            condition &= Q(**{column: ""})
    if filters.get("custom"):
        condition &= _custom_condition(tenant, filters["custom"], errors)
    include_deleted = bool(_flag(filters.get("include_deleted"), "include_deleted", errors))
    if errors:
        raise ValidationFailed(_("Some filters are not valid."), fields=errors)
    return condition, include_deleted or status in (ContactStatus.MERGED, ContactStatus.DELETED)


def contact_sort(sort: str) -> tuple[str, ...]:
    """The ordering for a sort key (`SORTS`; empty for the default); `ValidationFailed` else."""
    sort = sort or DEFAULT_SORT
    if sort not in SORTS:
        raise ValidationFailed(fields={"sort": [_("Choose one of: %(choices)s.")
                                                % {"choices": ", ".join(SORTS)}]})
    return SORTS[sort]


def contact_list(*, tenant: Tenant, actor: Actor | None, search: str = "",
                 filters: Mapping[str, Any] | None = None, sort: str = "") -> QuerySet[Contact]:
    """`tenant`'s contacts matching `search` and `filters`, ordered by `sort`.

    Merged and deleted contacts are left out unless `filters` asks for that status or for
    `include_deleted`. Owners, companies and tags come along (no query per row). Raises
    `ValidationFailed` for unknown filters or sorts and bad filter values.
    """
    ordering = contact_sort(sort)
    condition, include_all = contact_filter_condition(tenant=tenant, actor=actor,
                                                      filters=filters or {})
    qs = Contact.objects.filter(tenant=tenant).filter(condition)
    qs = visible_contacts(qs, tenant=tenant, actor=actor)
    if not include_all:
        qs = qs.exclude(status__in=[ContactStatus.MERGED, ContactStatus.DELETED])
    search = (search or "").strip()
    if search:
        qs = qs.filter(search_condition(tenant, search))
    qs = qs.annotate(last_activity_sort=Coalesce(
        "last_activity_at", Value(EPOCH, output_field=DateTimeField())))
    return (
        qs.select_related("owner", "company")
        .prefetch_related(Prefetch("tag_links", queryset=ContactTag.objects.filter(
            tenant=tenant).select_related("tag").order_by("tag__name")))
        .order_by(*ordering)
    )


def contact_get(*, tenant: Tenant, contact_id: Any, include_deleted: bool = True,
                actor: Actor | None = None) -> Contact:
    """One contact of `tenant` with its owner, company, identities and tags; `NotFound` for
    unknown or malformed ids and other tenants' contacts (and, with `actor`, contacts outside
    the actor's visibility limits)."""
    try:
        qs = Contact.objects.filter(tenant=tenant, pk=UUID(str(contact_id)))
    except (ValueError, TypeError):
        raise NotFound(_("No such contact.")) from None
    qs = visible_contacts(qs, tenant=tenant, actor=actor)
    if not include_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    contact = (
        qs.select_related("owner", "company")
        .prefetch_related(
            Prefetch("aliases", queryset=IdentityAlias.objects.filter(tenant=tenant)),
            Prefetch("tag_links", queryset=ContactTag.objects.filter(
                tenant=tenant).select_related("tag").order_by("tag__name")),
        ).first()
    )
    if contact is None:
        raise NotFound(_("No such contact."))
    return contact


def contact_tags(contact: Contact) -> list[Any]:
    """The tags of a contact loaded by `contact_list`/`contact_get` (no query)."""
    return [link.tag for link in contact.tag_links.all()]


# --- companies -------------------------------------------------------------------------------


def company_list(*, tenant: Tenant, search: str = "", sort: str = "name") -> QuerySet[Company]:
    """`tenant`'s live companies with `contact_count` (live contacts), by name or newest."""
    qs = Company.objects.filter(tenant=tenant, deleted_at__isnull=True)
    search = " ".join((search or "").split())[:SEARCH_MAX]
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(domain__icontains=search)
                       | Q(city__icontains=search))
    orderings = {"name": ("name", "id"), "-name": ("-name", "-id"),
                 "created": ("created_at", "id"), "-created": ("-created_at", "-id")}
    if sort not in orderings:
        raise ValidationFailed(fields={"sort": [_("Choose one of: %(choices)s.")
                                                % {"choices": ", ".join(orderings)}]})
    live = Q(contacts__deleted_at__isnull=True) & ~Q(
        contacts__status__in=[ContactStatus.MERGED, ContactStatus.DELETED])
    return (qs.select_related("owner")
            .annotate(contact_count=Count("contacts", filter=live))
            .order_by(*orderings[sort]))


def company_get(*, tenant: Tenant, company_id: Any) -> Company:
    """One live company of `tenant`; `NotFound` otherwise."""
    try:
        company = (Company.objects.filter(tenant=tenant, pk=UUID(str(company_id)),
                                          deleted_at__isnull=True)
                   .select_related("owner").first())
    except (ValueError, TypeError):
        company = None
    if company is None:
        raise NotFound(_("No such company."))
    return company


def company_contacts(*, tenant: Tenant, company: Company) -> QuerySet[Contact]:
    """The live contacts of `company`, by name."""
    return contact_list(tenant=tenant, actor=None, filters={"company": company.pk})


# --- saved views -----------------------------------------------------------------------------


def savedview_list(*, tenant: Tenant, actor: Actor) -> QuerySet[SavedView]:
    """The contact list views `actor` may use: their own and the shared ones, by name."""
    user = actor.user
    condition = Q(is_shared=True) | (Q(owner=user) if user is not None else Q(pk__in=[]))
    return SavedView.objects.filter(condition, tenant=tenant, entity_type="contact").order_by(
        "name", "id")


def savedview_get(*, tenant: Tenant, actor: Actor, view_id: Any) -> SavedView:
    """One view `actor` may use; `NotFound` otherwise."""
    try:
        return savedview_list(tenant=tenant, actor=actor).get(pk=UUID(str(view_id)))
    except (ValueError, TypeError, SavedView.DoesNotExist):
        raise NotFound(_("No such view.")) from None
