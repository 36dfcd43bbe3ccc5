"""Reminders: the actor's (or everyone's) reminders with done / snooze / dismiss, the
reminder rules, the registered types and the digest hour."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.marketing.selectors.automation import (
    reminder_get,
    reminder_list,
    reminder_rule_get,
    reminder_rule_list,
)
from tend.marketing.services import reminders as svc

router = Router(tags=["Reminders"])


class ReminderOut(Schema):
    id: UUID
    type: str
    rule_id: UUID | None
    contact_id: UUID
    contact_name: str
    recipient_id: UUID
    due_at: dt.datetime
    status: str
    snoozed_until: dt.datetime | None
    reason: str
    closed_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_contact_name(obj: Any) -> str:
        return str(obj.contact)


class ReminderFilter(Schema):
    scope: Literal["mine", "all"] = "mine"
    status: Literal["OPEN", "DONE", "SNOOZED", "DISMISSED", "ANY"] = "OPEN"
    type: str | None = Field(None, max_length=50)
    contact_id: UUID | None = None
    due: Literal["today", "overdue"] | None = None


class SnoozeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    until: dt.datetime


class RuleOut(Schema):
    id: UUID
    name: str
    type: str
    rule: dict[str, Any]
    params: dict[str, Any]
    recipients: list[str]
    is_active: bool
    last_run_at: dt.datetime | None
    last_created: int


class RuleFields(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    type: str | None = Field(None, max_length=50, description="A registered reminder type")
    rule: dict[str, Any] | None = Field(None, description="Which contacts (rule language)")
    params: dict[str, Any] | None = Field(None, description="The type's settings")
    recipients: list[str] | None = Field(None, description="Recipient resolvers: owner, …")
    is_active: bool | None = None


class RuleIn(RuleFields):
    name: str = Field(max_length=200)
    type: str = Field(max_length=50)


class TypeOut(Schema):
    key: str
    label: str
    description: str
    params: dict[str, int]


class SettingsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    digest_hour: int = Field(ge=0, le=23, description="Local hour of the daily digest")


class SettingsOut(Schema):
    digest_hour: int


@router.get("/reminders", response=Page[ReminderOut])
def reminders_list(request: ApiRequest, page: Query[PageParams],
                   filters: Query[ReminderFilter]):
    """Reminders, soonest due first: the caller's (`reminders.view`) or everyone's
    (`scope=all`, `reminders.manage`)."""
    actor = require(request, "reminders.view")
    qs = reminder_list(tenant=request.tenant, actor=actor, scope=filters.scope,
                       status="" if filters.status == "ANY" else filters.status,
                       type=filters.type or "", contact_id=filters.contact_id,
                       due=filters.due or "")
    return paginate(qs, page, ordering=("due_at", "id"))


@router.get("/reminders/types", response=list[TypeOut])
def reminders_types(request: ApiRequest):
    """The registered reminder types and their settings' defaults."""
    require(request, "reminders.view")
    return [{"key": t.key, "label": str(t.label), "description": str(t.description),
             "params": {k: v[0] for k, v in t.params.items()}} for t in svc.reminder_types()]


@router.get("/reminders/settings", response=SettingsOut)
def reminders_settings(request: ApiRequest):
    require(request, "reminders.view")
    return {"digest_hour": svc.digest_hour(request.tenant)}


@router.put("/reminders/settings", response=SettingsOut)
def reminders_settings_put(request: ApiRequest, payload: SettingsIn):
    """Set the local hour the daily digest goes out. Needs `reminders.manage`."""
    actor = require(request, "reminders.manage")
    svc.reminders_settings_update(tenant=request.tenant, actor=actor,
                                  digest_hour=payload.digest_hour)
    return {"digest_hour": svc.digest_hour(request.tenant)}


@router.get("/reminders/rules", response=Page[RuleOut])
def reminder_rules_list(request: ApiRequest, page: Query[PageParams]):
    require(request, "reminders.manage")
    return paginate(reminder_rule_list(tenant=request.tenant), page, ordering=("name", "id"))


@router.post("/reminders/rules", response={201: RuleOut})
def reminder_rules_create(request: ApiRequest, payload: RuleIn):
    """Create a rule. Needs `reminders.manage`."""
    actor = require(request, "reminders.manage")
    return Status(201, svc.reminder_rule_create(tenant=request.tenant, actor=actor,
                                                data=payload.model_dump(exclude_unset=True)))


@router.get("/reminders/rules/{rule_id}", response=RuleOut)
def reminder_rules_get(request: ApiRequest, rule_id: UUID):
    require(request, "reminders.manage")
    return reminder_rule_get(tenant=request.tenant, rule_id=rule_id)


@router.patch("/reminders/rules/{rule_id}", response=RuleOut)
def reminder_rules_update(request: ApiRequest, rule_id: UUID, payload: RuleFields):
    actor = require(request, "reminders.manage")
    rule = reminder_rule_get(tenant=request.tenant, rule_id=rule_id)
    return svc.reminder_rule_update(tenant=request.tenant, actor=actor, rule=rule,
                                    data=payload.model_dump(exclude_unset=True))


@router.delete("/reminders/rules/{rule_id}", response={204: None})
def reminder_rules_delete(request: ApiRequest, rule_id: UUID):
    actor = require(request, "reminders.manage")
    rule = reminder_rule_get(tenant=request.tenant, rule_id=rule_id)
    svc.reminder_rule_delete(tenant=request.tenant, actor=actor, rule=rule)
    return Status(204, None)


@router.post("/reminders/rules/{rule_id}/run", response=dict[str, int])
def reminder_rules_run(request: ApiRequest, rule_id: UUID):
    """Evaluate the rule now (the tick does it every 15 minutes)."""
    require(request, "reminders.manage")
    rule = reminder_rule_get(tenant=request.tenant, rule_id=rule_id)
    created, closed = svc.reminder_rule_run(tenant=request.tenant, rule=rule)
    return {"created": created, "closed": closed}


@router.get("/reminders/{reminder_id}", response=ReminderOut)
def reminders_get(request: ApiRequest, reminder_id: UUID):
    actor = require(request, "reminders.view")
    return reminder_get(tenant=request.tenant, actor=actor, reminder_id=reminder_id)


def _act(request: ApiRequest, reminder_id: UUID, action: str, **kwargs: Any) -> Any:
    actor = require(request, "reminders.view")
    reminder = reminder_get(tenant=request.tenant, actor=actor, reminder_id=reminder_id)
    if action == "snooze":
        return svc.reminder_snooze(tenant=request.tenant, actor=actor, reminder=reminder,
                                   **kwargs)
    close = svc.reminder_done if action == "done" else svc.reminder_dismiss
    return close(tenant=request.tenant, actor=actor, reminder=reminder)


@router.post("/reminders/{reminder_id}/done", response=ReminderOut)
def reminders_done(request: ApiRequest, reminder_id: UUID):
    return _act(request, reminder_id, "done")


@router.post("/reminders/{reminder_id}/dismiss", response=ReminderOut)
def reminders_dismiss(request: ApiRequest, reminder_id: UUID):
    return _act(request, reminder_id, "dismiss")


@router.post("/reminders/{reminder_id}/snooze", response=ReminderOut)
def reminders_snooze(request: ApiRequest, reminder_id: UUID, payload: SnoozeIn):
    return _act(request, reminder_id, "snooze", until=payload.until)
