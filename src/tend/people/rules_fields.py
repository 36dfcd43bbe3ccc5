"""What the people module offers the rule language: the live contacts rules select from, and
the fields they test — contact columns, custom fields, tags, identities, consent, activity
aggregates and company columns. Each field gives its SQL condition and its Python twin; the
operator semantics of plain values come from `tend.rules.scalar`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from tend.core.models import CustomFieldDefinition, Tag, Tenant
from tend.core.models import FieldType as CustomType
from tend.people.choices import (
    AliasType,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    ContactStatus,
    Gender,
    LifecycleStage,
)
from tend.people.models import Activity, Company, Consent, Contact, ContactTag, IdentityAlias
from tend.rules import operators as op
from tend.rules.jsonlist import json_list_python, json_list_q
from tend.rules.population import Population, register_population
from tend.rules.registry import (
    Facts,
    FieldType,
    RuleContext,
    RuleField,
    register_fields,
    scalar_field,
)
from tend.rules.scalar import cutoff_day, day_start, exists_q

LIVE_STATUSES = (ContactStatus.ACTIVE, ContactStatus.INACTIVE)
ACTIVITY_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,99}$")

G_CONTACT = ("contact", gettext_lazy("Contact"))
G_CUSTOM = ("custom", gettext_lazy("Custom fields"))
G_TAGS = ("tags", gettext_lazy("Tags"))
G_IDENTITIES = ("identities", gettext_lazy("Identities"))
G_CONSENT = ("consent", gettext_lazy("Consent to marketing"))
G_ACTIVITY = ("activity", gettext_lazy("Activity"))
G_COMPANY = ("company", gettext_lazy("Company"))


# --- the population -----------------------------------------------------------------------------


def live_contacts(tenant: Tenant) -> Any:
    """The contacts rules select from: not merged, not deleted, not erased."""
    return Contact.objects.filter(tenant=tenant, status__in=LIVE_STATUSES,
                                  deleted_at__isnull=True, erased_at__isnull=True)


def is_live(contact: Any) -> bool:
    return (contact.status in LIVE_STATUSES and contact.deleted_at is None
            and contact.erased_at is None)


# --- contact columns ------------------------------------------------------------------------------

# (rule key, model field, label, type, choices)
COLUMNS: tuple[tuple[str, str, Any, str, Any], ...] = (
    ("firstName", "first_name", gettext_lazy("First name"), FieldType.STRING, None),
    ("lastName", "last_name", gettext_lazy("Last name"), FieldType.STRING, None),
    ("displayName", "display_name", gettext_lazy("Name"), FieldType.STRING, None),
    ("email", "primary_email", gettext_lazy("Email"), FieldType.STRING, None),
    ("phone", "primary_phone", gettext_lazy("Phone"), FieldType.STRING, None),
    ("city", "city", gettext_lazy("City"), FieldType.STRING, None),
    ("state", "state", gettext_lazy("State / province"), FieldType.STRING, None),
    ("postalCode", "postal_code", gettext_lazy("Postal code"), FieldType.STRING, None),
    ("country", "country", gettext_lazy("Country"), FieldType.STRING, None),
    ("language", "language", gettext_lazy("Language"), FieldType.STRING, None),
    ("timeZone", "time_zone", gettext_lazy("Time zone"), FieldType.STRING, None),
    ("jobTitle", "job_title", gettext_lazy("Job title"), FieldType.STRING, None),
    ("source", "source", gettext_lazy("Source"), FieldType.STRING, None),
    ("gender", "gender", gettext_lazy("Gender"), FieldType.CHOICE, Gender.choices),
    ("lifecycleStage", "lifecycle_stage", gettext_lazy("Lifecycle stage"), FieldType.CHOICE,
     LifecycleStage.choices),
    ("status", "status", gettext_lazy("Status"), FieldType.CHOICE,
     [(ContactStatus.ACTIVE.value, ContactStatus.ACTIVE.label),
      (ContactStatus.INACTIVE.value, ContactStatus.INACTIVE.label)]),
    ("dateOfBirth", "date_of_birth", gettext_lazy("Date of birth"), FieldType.DATE, None),
    ("createdAt", "created_at", gettext_lazy("Added"), FieldType.DATETIME, None),
    ("lastActivityAt", "last_activity_at", gettext_lazy("Last activity"), FieldType.DATETIME,
     None),
    ("lastContactedAt", "last_contacted_at", gettext_lazy("Last contacted"),
     FieldType.DATETIME, None),
    ("engagementScore", "engagement_score", gettext_lazy("Engagement score"),
     FieldType.NUMBER, None),
    ("churnRiskScore", "churn_risk_score", gettext_lazy("Churn risk score"), FieldType.NUMBER,
     None),
    ("lifetimeValue", "lifetime_value_minor", gettext_lazy("Lifetime value (minor units)"),
     FieldType.NUMBER, None),
    ("activityCount30d", "activity_count_30d", gettext_lazy("Activities in the last 30 days"),
     FieldType.NUMBER, None),
    ("activityCount90d", "activity_count_90d", gettext_lazy("Activities in the last 90 days"),
     FieldType.NUMBER, None),
)


def _column_getter(name: str) -> Any:
    return lambda facts: getattr(facts.contact, name)


def contact_fields(tenant: Tenant) -> Iterable[RuleField]:
    for key, column, label, kind, choices in COLUMNS:
        yield scalar_field(key=key, label=label, type=kind, group=G_CONTACT[0],
                           group_label=G_CONTACT[1], expression=F(column),
                           getter=_column_getter(column), depends=[f"contact:{column}"],
                           choices=tuple(choices or ()))


# --- custom fields --------------------------------------------------------------------------------

CUSTOM_TYPES = {
    CustomType.TEXT: FieldType.STRING, CustomType.URL: FieldType.STRING,
    CustomType.EMAIL: FieldType.STRING, CustomType.PHONE: FieldType.STRING,
    CustomType.NUMBER: FieldType.NUMBER, CustomType.DECIMAL: FieldType.NUMBER,
    CustomType.DATE: FieldType.DATE, CustomType.DATETIME: FieldType.DATETIME,
    CustomType.BOOLEAN: FieldType.BOOLEAN, CustomType.CHOICE: FieldType.CHOICE,
    CustomType.MULTI_CHOICE: FieldType.MULTI_CHOICE,
}


def _custom_getter(key: str) -> Any:
    return lambda facts: (facts.contact.custom or {}).get(key)


def _multi_choice_field(definition: CustomFieldDefinition, label: str,
                        choices: tuple[tuple[str, str], ...]) -> RuleField:
    key = definition.key

    def to_q(operator: str, value: Any, ctx: RuleContext) -> Q:
        if operator in (op.EMPTY, op.NOT_EMPTY):
            q = json_list_q("custom", key, [], "nonempty")
            return q if operator == op.NOT_EMPTY else ~q
        if operator == op.HAS_ALL:
            return json_list_q("custom", key, value, "all")
        q = json_list_q("custom", key, value, "any")
        return ~q if operator == op.HAS_NONE else q

    def to_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
        raw = (facts.contact.custom or {}).get(key)
        if operator in (op.EMPTY, op.NOT_EMPTY):
            held = json_list_python(raw, [], "nonempty")
            return held if operator == op.NOT_EMPTY else not held
        if operator == op.HAS_ALL:
            return json_list_python(raw, value, "all")
        held = json_list_python(raw, value, "any")
        return not held if operator == op.HAS_NONE else held

    return RuleField(key=f"custom.{key}", label=label, type=FieldType.MULTI_CHOICE,
                     group=G_CUSTOM[0], group_label=G_CUSTOM[1], to_q=to_q,
                     to_python=to_python, depends=lambda o, v: [f"custom:{key}"],
                     choices=choices)


def custom_fields(tenant: Tenant) -> Iterable[RuleField]:
    language = get_language() or "en"
    definitions = CustomFieldDefinition.objects.filter(
        tenant=tenant, entity_type="contact", is_active=True).order_by("position", "key")
    for definition in definitions:
        if definition.field_type not in CustomType.values:
            continue
        kind = CUSTOM_TYPES.get(CustomType(definition.field_type))
        if kind is None:
            continue
        label = definition.label_for(language)
        choices = tuple(
            (str(c.get("value")), (c.get("label") or {}).get(language)
             or (c.get("label") or {}).get("en") or str(c.get("value")))
            for c in definition.choices or [] if isinstance(c, dict))
        if kind == FieldType.MULTI_CHOICE:
            yield _multi_choice_field(definition, label, choices)
            continue
        yield scalar_field(key=f"custom.{definition.key}", label=label, type=kind,
                           group=G_CUSTOM[0], group_label=G_CUSTOM[1],
                           expression=KeyTextTransform(definition.key, "custom"),
                           getter=_custom_getter(definition.key),
                           depends=[f"custom:{definition.key}"], choices=choices, json=True)


# --- tags -----------------------------------------------------------------------------------------


def _tag_ids(facts: Facts) -> set[str]:
    return facts.get("tags", lambda: {str(t) for t in ContactTag.objects.filter(
        tenant=facts.ctx.tenant, contact=facts.contact).values_list("tag_id", flat=True)})


def _check_tags(operator: str, value: Any, ctx: RuleContext) -> Any:
    """Tags are named by id or slug; the rule keeps ids. Unknown tags are refused."""
    if value is None:
        return None
    wanted = [str(v) for v in value]
    uuids = [v for v in wanted if _is_uuid(v)]
    found = {}
    for pk, slug in Tag.objects.filter(tenant=ctx.tenant).filter(
            Q(pk__in=uuids) | Q(slug__in=wanted)).values_list("pk", "slug"):
        found[str(pk)] = str(pk)
        found[slug] = str(pk)
    missing = [v for v in wanted if v not in found]
    if missing:
        raise op.BadValue(_("Unknown tag: %(tags)s.") % {"tags": ", ".join(missing)})
    return sorted({found[v] for v in wanted})


def _is_uuid(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", text))


def _tags_q(operator: str, value: Any, ctx: RuleContext) -> Q:
    links = ContactTag.objects.filter(tenant=ctx.tenant, contact=OuterRef("pk"))
    if operator in (op.EMPTY, op.NOT_EMPTY):
        q = exists_q(links)
        return q if operator == op.NOT_EMPTY else ~q
    if operator == op.HAS_ALL:
        q = Q()
        for tag_id in value:
            q &= exists_q(links.filter(tag_id=tag_id))
        return q
    q = exists_q(links.filter(tag_id__in=value))
    return ~q if operator == op.HAS_NONE else q


def _tags_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
    held = _tag_ids(facts)
    if operator in (op.EMPTY, op.NOT_EMPTY):
        return bool(held) == (operator == op.NOT_EMPTY)
    if operator == op.HAS_ALL:
        return set(value) <= held
    anyof = bool(held & set(value))
    return not anyof if operator == op.HAS_NONE else anyof


def tag_fields(tenant: Tenant) -> Iterable[RuleField]:
    yield RuleField(key="tags", label=gettext_lazy("Tags"), type=FieldType.TAGS,
                    group=G_TAGS[0], group_label=G_TAGS[1], to_q=_tags_q,
                    to_python=_tags_python, depends=lambda o, v: ["tag"],
                    check_value=_check_tags)


# --- identities -----------------------------------------------------------------------------------

ALIAS_FIELDS = (
    ("hasEmail", AliasType.EMAIL, gettext_lazy("Email address")),
    ("hasPhone", AliasType.PHONE, gettext_lazy("Phone number")),
    ("hasTelegram", AliasType.TELEGRAM, gettext_lazy("Telegram account")),
    ("hasWhatsapp", AliasType.WHATSAPP, gettext_lazy("WhatsApp number")),
)


def _alias_types(facts: Facts) -> set[str]:
    return facts.get("aliases", lambda: set(IdentityAlias.objects.filter(
        tenant=facts.ctx.tenant, contact=facts.contact).values_list("type", flat=True)))


def _alias_field(key: str, alias_type: str, label: Any) -> RuleField:
    def to_q(operator: str, value: Any, ctx: RuleContext) -> Q:
        q = exists_q(IdentityAlias.objects.filter(tenant=ctx.tenant, contact=OuterRef("pk"),
                                                  type=alias_type))
        return q if operator == op.NOT_EMPTY else ~q

    def to_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
        return (alias_type in _alias_types(facts)) == (operator == op.NOT_EMPTY)

    return RuleField(key=key, label=label, type=FieldType.EXISTS, group=G_IDENTITIES[0],
                     group_label=G_IDENTITIES[1], to_q=to_q, to_python=to_python,
                     depends=lambda o, v: ["alias"])


def alias_fields(tenant: Tenant) -> Iterable[RuleField]:
    for key, alias_type, label in ALIAS_FIELDS:
        yield _alias_field(key, alias_type, label)


# --- consent --------------------------------------------------------------------------------------


def _consents(facts: Facts) -> dict[str, str]:
    return facts.get("consents", lambda: dict(Consent.objects.filter(
        tenant=facts.ctx.tenant, contact=facts.contact, purpose=ConsentPurpose.MARKETING,
    ).values_list("channel", "status")))


def _consent_field(channel: str, label: Any) -> RuleField:
    def to_q(operator: str, value: Any, ctx: RuleContext) -> Q:
        records = Consent.objects.filter(tenant=ctx.tenant, contact=OuterRef("pk"),
                                         channel=channel, purpose=ConsentPurpose.MARKETING)
        if operator in (op.EMPTY, op.NOT_EMPTY):
            q = exists_q(records)
            return q if operator == op.NOT_EMPTY else ~q
        statuses = [value] if operator in (op.EQ, op.NE) else list(value)
        q = exists_q(records.filter(status__in=statuses))
        return ~q if operator in (op.NE, op.NOT_IN) else q

    def to_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
        status = _consents(facts).get(channel)
        if operator in (op.EMPTY, op.NOT_EMPTY):
            return (status is not None) == (operator == op.NOT_EMPTY)
        statuses = [value] if operator in (op.EQ, op.NE) else list(value)
        held = status in statuses
        return not held if operator in (op.NE, op.NOT_IN) else held

    return RuleField(key=f"consent.{channel.lower()}", label=label, type=FieldType.CONSENT,
                     group=G_CONSENT[0], group_label=G_CONSENT[1], to_q=to_q,
                     to_python=to_python, depends=lambda o, v: ["consent"],
                     choices=tuple(ConsentStatus.choices))


def consent_fields(tenant: Tenant) -> Iterable[RuleField]:
    for channel, label in ConsentChannel.choices:
        yield _consent_field(channel, label)


# --- activity aggregates --------------------------------------------------------------------------


def _activity_params(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise op.BadValue(_("Choose an activity type."))
    kind = value.get("type")
    if not isinstance(kind, str) or not ACTIVITY_TYPE_RE.match(kind.strip().upper()):
        raise op.BadValue(_("Choose an activity type (upper-case letters, digits and _)."))
    params: dict[str, Any] = {"type": kind.strip().upper()}
    category = value.get("category") or ""
    if not isinstance(category, str) or len(category) > 30:
        raise op.BadValue(_("Enter a category of at most 30 characters."))
    if category.strip():
        params["category"] = category.strip().upper()
    return params


def _check_count(operator: str, value: Any, ctx: RuleContext) -> Any:
    params = _activity_params(value)
    days = value.get("days")
    if days not in (None, ""):
        amount = op.number(days)
        if not isinstance(amount, int) or not 1 <= amount <= op.MAX_AMOUNT:
            raise op.BadValue(_("Enter a whole number of days from 1 to %(n)d.")
                              % {"n": op.MAX_AMOUNT})
        params["days"] = amount

    def count(item: Any) -> int:
        number = op.number(item)
        if not isinstance(number, int) or number < 0:
            raise op.BadValue(_("Enter a whole number of at least 0."))
        return number

    raw = value.get("count")
    if operator == op.BETWEEN:
        if not isinstance(raw, list) or len(raw) != 2:
            raise op.BadValue(_("Enter two values: from and to."))
        low, high = count(raw[0]), count(raw[1])
        if low > high:
            raise op.BadValue(_("The first value must not be after the second."))
        params["count"] = [low, high]
    else:
        params["count"] = count(raw)
    return params


def _check_last(operator: str, value: Any, ctx: RuleContext) -> Any:
    params = _activity_params(value)
    if operator in op.RELATIVE:
        params.update(op.relative({"amount": value.get("amount"),
                                   "unit": value.get("unit", "days")}))
    elif operator in (op.BEFORE, op.AFTER):
        params["date"] = op.a_date(value.get("date"))
    return params


def _activities(ctx: RuleContext, params: dict[str, Any], contact: Any) -> Any:
    qs = Activity.objects.filter(tenant=ctx.tenant, contact=contact, type=params["type"])
    if "category" in params:
        qs = qs.filter(category=params["category"])
    return qs


def _activity_times(facts: Facts, params: dict[str, Any]) -> list[tuple[str, datetime]]:
    """(category, occurred_at) of the contact's activities of one type: one query per type."""
    return facts.get(("activity", params["type"]), lambda: list(Activity.objects.filter(
        tenant=facts.ctx.tenant, contact=facts.contact, type=params["type"],
    ).values_list("category", "occurred_at")))


def _count_window(params: dict[str, Any], ctx: RuleContext) -> tuple[datetime, datetime] | None:
    if "days" not in params:
        return None
    start = day_start(ctx.today - timedelta(days=params["days"]), ctx)
    return start, ctx.now


def _count_ok(count: int, operator: str, target: Any) -> bool:
    if operator == op.BETWEEN:
        return bool(target[0] <= count <= target[1])
    return {op.EQ: count == target, op.NE: count != target, op.LT: count < target,
            op.LTE: count <= target, op.GT: count > target, op.GTE: count >= target}[operator]


_COUNT_LOOKUP = {op.EQ: "exact", op.LT: "lt", op.LTE: "lte", op.GT: "gt", op.GTE: "gte"}


def _count_q(operator: str, value: Any, ctx: RuleContext) -> Q:
    """Contacts whose number of matching activities satisfies the comparison. When zero
    satisfies it (say "fewer than 3"), the condition is "not among the contacts whose count
    fails it", so contacts without any such activity are counted in."""
    window = _count_window(value, ctx)
    matching = Activity.objects.filter(tenant=ctx.tenant, type=value["type"],
                                       contact__isnull=False)
    if "category" in value:
        matching = matching.filter(category=value["category"])
    if window:
        matching = matching.filter(occurred_at__gte=window[0], occurred_at__lte=window[1])
    target = value["count"]
    if operator == op.BETWEEN:
        passes = Q(n__gte=target[0], n__lte=target[1])
    elif operator == op.NE:
        passes = ~Q(n=target)
    else:
        passes = Q(**{f"n__{_COUNT_LOOKUP[operator]}": target})
    zero_passes = _count_ok(0, operator, target)
    if (operator, target) in ((op.GTE, 1), (op.GT, 0)):
        return exists_q(matching.filter(contact=OuterRef("pk")))
    grouped = matching.values("contact_id").annotate(n=Count("id"))
    if zero_passes:
        return ~Q(pk__in=grouped.filter(~passes).values("contact_id"))
    return Q(pk__in=grouped.filter(passes).values("contact_id"))


def _count_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
    window = _count_window(value, ctx)
    count = sum(
        1 for category, occurred_at in _activity_times(facts, value)
        if ("category" not in value or category == value["category"])
        and (window is None or window[0] <= occurred_at <= window[1])
    )
    return _count_ok(count, operator, value["count"])


def _last_bound(operator: str, value: Any, ctx: RuleContext) -> datetime:
    """The instant the last matching activity is compared with."""
    if operator in op.RELATIVE:
        return day_start(cutoff_day(value, ctx), ctx)
    day = datetime.fromisoformat(value["date"]).date()
    return day_start(day + timedelta(days=1) if operator == op.AFTER else day, ctx)


def _last_q(operator: str, value: Any, ctx: RuleContext) -> Q:
    matching = Activity.objects.filter(tenant=ctx.tenant, contact=OuterRef("pk"),
                                       type=value["type"])
    if "category" in value:
        matching = matching.filter(category=value["category"])
    ever = exists_q(matching)
    if operator in (op.EMPTY, op.NOT_EMPTY):
        return ever if operator == op.NOT_EMPTY else ~ever
    bound = _last_bound(operator, value, ctx)
    if operator == op.WITHIN_LAST:
        return exists_q(matching.filter(occurred_at__gte=bound, occurred_at__lte=ctx.now))
    if operator == op.AFTER:
        return exists_q(matching.filter(occurred_at__gte=bound))
    # more than … ago, before: it happened, and not since the bound.
    return ever & ~exists_q(matching.filter(occurred_at__gte=bound))


def _last_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
    times = [at for category, at in _activity_times(facts, value)
             if "category" not in value or category == value["category"]]
    if operator in (op.EMPTY, op.NOT_EMPTY):
        return bool(times) == (operator == op.NOT_EMPTY)
    if not times:
        return False
    bound = _last_bound(operator, value, ctx)
    if operator == op.WITHIN_LAST:
        return any(bound <= at <= ctx.now for at in times)
    if operator == op.AFTER:
        return max(times) >= bound
    return max(times) < bound


def _activity_depends(operator: str, value: Any) -> list[str]:
    kinds = [f"activity:{value['type']}"]
    if "days" in value:
        kinds.append("time")
    return kinds


def activity_fields(tenant: Tenant) -> Iterable[RuleField]:
    yield RuleField(key="activityCount", label=gettext_lazy("Number of activities"),
                    type=FieldType.ACTIVITY_COUNT, group=G_ACTIVITY[0],
                    group_label=G_ACTIVITY[1], to_q=_count_q, to_python=_count_python,
                    depends=_activity_depends, check_value=_check_count)
    yield RuleField(key="lastActivity", label=gettext_lazy("Last activity of a type"),
                    type=FieldType.ACTIVITY_LAST, group=G_ACTIVITY[0],
                    group_label=G_ACTIVITY[1], to_q=_last_q, to_python=_last_python,
                    depends=_activity_depends, check_value=_check_last)


# --- company --------------------------------------------------------------------------------------

COMPANY_COLUMNS = (
    ("company.name", "name", gettext_lazy("Company name")),
    ("company.sector", "sector", gettext_lazy("Company sector")),
    ("company.size", "size", gettext_lazy("Company size")),
    ("company.city", "city", gettext_lazy("Company city")),
    ("company.region", "region", gettext_lazy("Company region")),
    ("company.country", "country", gettext_lazy("Company country")),
    ("company.domain", "domain", gettext_lazy("Company domain")),
)


def _company(facts: Facts) -> Company | None:
    def load() -> Company | None:
        if facts.contact.company_id is None:
            return None
        return Company.objects.filter(tenant=facts.ctx.tenant,
                                      pk=facts.contact.company_id).first()

    return facts.get("company", load)  # type: ignore[no-any-return]


def _company_getter(name: str) -> Any:
    def getter(facts: Facts) -> Any:
        company = _company(facts)
        return getattr(company, name) if company is not None else None

    return getter


def company_fields(tenant: Tenant) -> Iterable[RuleField]:
    for key, column, label in COMPANY_COLUMNS:
        yield scalar_field(key=key, label=label, type=FieldType.STRING, group=G_COMPANY[0],
                           group_label=G_COMPANY[1], expression=F(f"company__{column}"),
                           getter=_company_getter(column), depends=["company"])


def register() -> None:
    register_population(Population(queryset=live_contacts, is_member=is_live))
    register_fields(contact_fields)
    # The one provider that reads the organization's configuration: saving or deleting a
    # definition rebuilds the registry in every process.
    register_fields(custom_fields, changes_with=[CustomFieldDefinition])
    for provider in (tag_fields, alias_fields, consent_fields, activity_fields, company_fields):
        register_fields(provider)
