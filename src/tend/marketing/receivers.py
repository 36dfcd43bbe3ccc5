"""Receivers that keep dynamic segments true without waiting for a refresh: each change to a
contact (fields, identities, tags, consent, activities) re-evaluates that contact, in the
background, against the segments whose rules depend on what changed."""

from __future__ import annotations

from typing import Any

from tend.marketing.tasks import enqueue_reevaluation

# Fields a contact change names (CONTACT_UPDATED metadata, contact_changed `fields`) that are
# not plain columns, and the change kinds they stand for.
_FIELD_KINDS = {
    "tags": ["tag"],
    "custom": ["custom:*"],
    "company": ["company", "contact:company"],
    "identities": ["alias", "contact:primary_email", "contact:primary_phone"],
}
# What recording any activity changes on the contact (the metrics people keeps).
_METRICS = ["contact:last_activity_at", "contact:last_activity_type",
            "contact:activity_count_30d", "contact:activity_count_90d"]
_SEGMENT_TYPES = frozenset({"SEGMENT_ENTERED", "SEGMENT_LEFT"})


def change_kinds(fields: list[str] | tuple[str, ...]) -> list[str]:
    """The rule dependency kinds that changing `fields` of a contact touches."""
    kinds: list[str] = []
    for name in fields:
        if name in _FIELD_KINDS:
            kinds += _FIELD_KINDS[name]
        elif name.endswith("s") and name[:-1] in ("email", "phone", "telegram", "whatsapp",
                                                  "external", "auth_user"):
            kinds += ["alias", f"contact:primary_{name[:-1]}"]
        else:
            kinds.append(f"contact:{name}")
    return kinds


def activity_kinds(activity: Any) -> list[str] | None:
    """The change kinds an activity stands for (None: anything may have changed)."""
    if activity.type == "CONTACT_CREATED":
        return None
    kinds = [f"activity:{activity.type}"]
    if activity.type in _SEGMENT_TYPES:
        return kinds
    kinds += _METRICS
    if activity.type == "CONTACT_UPDATED":
        kinds += change_kinds(list((activity.metadata or {}).get("fields") or []))
    elif activity.type == "CONSENT_CHANGED":
        kinds += ["consent", "contact:email_opt_in", "contact:sms_opt_in",
                  "contact:whatsapp_opt_in", "contact:telegram_opt_in", "contact:web_opt_in"]
    return kinds


def on_activity_recorded(sender: Any, tenant: Any, activity: Any, **kwargs: Any) -> None:
    if activity.contact_id is None:
        return
    enqueue_reevaluation(tenant, activity.contact_id, activity_kinds(activity))


def on_contact_changed(sender: Any, tenant: Any, contact_id: Any, change: str = "updated",
                       fields: list[str] | None = None, **kwargs: Any) -> None:
    # Merged, erased and deleted contacts leave every dynamic segment (the rules skip them);
    # a change without field names may have touched anything.
    kinds = change_kinds(fields) if fields and change == "updated" else None
    enqueue_reevaluation(tenant, contact_id, kinds)


def on_contacts_bulk_changed(sender: Any, tenant: Any, reason: str = "", count: int = 0,
                            **kwargs: Any) -> None:
    from tend.core.background import enqueue_on_commit
    from tend.marketing.choices import RefreshTrigger
    from tend.marketing.tasks import refresh_all_dynamic_task

    enqueue_on_commit(refresh_all_dynamic_task, tenant, RefreshTrigger.BULK)


def on_tenant_created(sender: Any, tenant: Any, actor: Any, **kwargs: Any) -> None:
    from tend.marketing.services.system import system_segments_create

    system_segments_create(tenant=tenant)


def connect() -> None:
    from tend.core.signals import tenant_created
    from tend.people.signals import activity_recorded, contact_changed, contacts_bulk_changed

    activity_recorded.connect(on_activity_recorded, dispatch_uid="marketing.segments.activity")
    contact_changed.connect(on_contact_changed, dispatch_uid="marketing.segments.contact")
    contacts_bulk_changed.connect(on_contacts_bulk_changed,
                                  dispatch_uid="marketing.segments.bulk")
    tenant_created.connect(on_tenant_created, dispatch_uid="marketing.segments.tenant")
