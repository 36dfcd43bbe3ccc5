"""The outbox: its figures, the dead letters (failed and dead-lettered messages), retry and
discard — one message or many at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.messaging.models import Message
from tend.messaging.selectors.outbox import (
    access_outbound,
    dead_letters,
    outbox_stats,
    visible_message_ids,
)
from tend.messaging.services.outbox import messages_discard, messages_retry, quiet_hours_set

router = Router(tags=["Outbox"])


class StatsOut(Schema):
    queued: int
    sending: int
    sent_last_hour: int
    failed: int
    dead: int


class OutboundOut(Schema):
    id: UUID
    contact_id: UUID
    contact_name: str
    account_id: UUID | None
    account_name: str
    channel: str
    purpose: str
    status: str = Field(description="QUEUED, SENDING, SENT, DELIVERED, READ, FAILED, "
                                    "BOUNCED, SKIPPED, DEAD or DISCARDED")
    to_address: str
    subject: str
    body: str
    attempts: int
    error_code: str
    error: str
    skip_reason: str
    provider_message_id: str
    queued_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    failed_at: datetime | None


class DeadLetterFilter(Schema):
    status: str | None = Field(None, description="FAILED or DEAD (default: both).")
    channel: str | None = Field(None, description="TELEGRAM, WHATSAPP, EMAIL, SMS or WEB")
    account_id: UUID | None = None
    error_code: str | None = Field(None, description="e.g. http_403, rate_limited, timeout")
    q: str | None = Field(None, description="Text in the error, the body or the address.")


class IdsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(description="Message ids (at most 1000).")


class CountOut(Schema):
    count: int = Field(description="How many messages changed (the others were not FAILED "
                                   "or DEAD).")


def _out(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk, "contact_id": message.contact_id,
        "contact_name": str(message.contact), "account_id": message.account_id,
        "account_name": message.account.name if message.account else "",
        "channel": message.channel, "purpose": message.purpose, "status": message.status,
        "to_address": message.to_address, "subject": message.subject, "body": message.body,
        "attempts": message.attempts, "error_code": message.error_code, "error": message.error,
        "skip_reason": message.skip_reason, "provider_message_id": message.provider_message_id,
        "queued_at": message.queued_at, "next_attempt_at": message.next_attempt_at,
        "sent_at": message.sent_at, "failed_at": message.failed_at,
    }


@router.get("/outbox/stats", response=StatsOut)
def outbox_stats_get(request: ApiRequest):
    """Messages waiting, being sent, sent in the last hour, failed and dead-lettered. Needs
    `outbox.view`."""
    actor = require(request, "outbox.view")
    return outbox_stats(tenant=request.tenant, actor=actor).__dict__


@router.get("/outbox/dead-letters", response=Page[OutboundOut])
def dead_letters_list(request: ApiRequest, page: Query[PageParams],
                      filters: Query[DeadLetterFilter]):
    """Failed and dead-lettered messages, newest first, filtered by status, channel, account,
    error code or text. Needs `outbox.view`."""
    actor = require(request, "outbox.view")
    rows = dead_letters(tenant=request.tenant, actor=actor, status=filters.status,
                        channel=filters.channel, account_id=filters.account_id,
                        error_code=filters.error_code, search=filters.q)
    result = paginate(rows, page, ordering=("-queued_at", "-id"))
    result["items"] = [_out(m) for m in result["items"]]
    return result


@router.get("/outbox/messages/{message_id}", response=OutboundOut)
def outbox_message_get(request: ApiRequest, message_id: UUID):
    """One outbound message with its delivery state. Needs `outbox.view`."""
    actor = require(request, "outbox.view")
    return _out(access_outbound(tenant=request.tenant, actor=actor, message_id=message_id))


@router.post("/outbox/retry", response=CountOut)
def outbox_retry(request: ApiRequest, payload: IdsIn):
    """Queue failed or dead-lettered messages again, now, with their attempts reset. Needs
    `outbox.manage`."""
    actor = require(request, "outbox.manage")
    ids = visible_message_ids(tenant=request.tenant, actor=actor, ids=payload.ids)
    return {"count": messages_retry(tenant=request.tenant, actor=actor, ids=ids)}


@router.post("/outbox/discard", response=CountOut)
def outbox_discard(request: ApiRequest, payload: IdsIn):
    """Give up on failed or dead-lettered messages (status DISCARDED). Needs
    `outbox.manage`."""
    actor = require(request, "outbox.manage")
    ids = visible_message_ids(tenant=request.tenant, actor=actor, ids=payload.ids)
    return {"count": messages_discard(tenant=request.tenant, actor=actor, ids=ids)}


@router.post("/outbox/messages/{message_id}/retry", response=CountOut)
def outbox_message_retry(request: ApiRequest, message_id: UUID):
    """Queue one failed or dead-lettered message again. Needs `outbox.manage`."""
    actor = require(request, "outbox.manage")
    message = access_outbound(tenant=request.tenant, actor=actor, message_id=message_id)
    return {"count": messages_retry(tenant=request.tenant, actor=actor, ids=[message.pk])}


@router.post("/outbox/messages/{message_id}/discard", response=CountOut)
def outbox_message_discard(request: ApiRequest, message_id: UUID):
    """Discard one failed or dead-lettered message. Needs `outbox.manage`."""
    actor = require(request, "outbox.manage")
    message = access_outbound(tenant=request.tenant, actor=actor, message_id=message_id)
    return {"count": messages_discard(tenant=request.tenant, actor=actor, ids=[message.pk])}


class QuietHours(Schema):
    model_config = ConfigDict(extra="forbid")

    start: str = Field("", description="HH:MM, 24-hour clock; blank with `end` to clear.")
    end: str = Field("", description="HH:MM; the window may wrap midnight (21:00 to 08:00).")


@router.get("/outbox/quiet-hours", response=QuietHours)
def quiet_hours_get(request: ApiRequest):
    """The organization's quiet hours (blank: none). Marketing messages due inside them wait
    until they end, in the contact's time zone. Needs `outbox.view`."""
    require(request, "outbox.view")
    value = (request.tenant.settings or {}).get("quiet_hours") or {}
    return {"start": value.get("start", ""), "end": value.get("end", "")}


@router.put("/outbox/quiet-hours", response=QuietHours)
def quiet_hours_put(request: ApiRequest, payload: QuietHours):
    """Set or clear the quiet hours. Needs `outbox.manage`."""
    actor = require(request, "outbox.manage")
    value = quiet_hours_set(tenant=request.tenant, actor=actor, start=payload.start,
                            end=payload.end)
    return {"start": value.get("start", ""), "end": value.get("end", "")}
