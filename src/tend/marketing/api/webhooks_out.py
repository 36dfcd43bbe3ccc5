"""Outbound webhooks: subscriptions (the signing secret shown once), the delivery log, a
test event and redelivery, and the event types one can subscribe to."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.marketing.selectors.automation import (
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_subscription_get,
    webhook_subscription_list,
)
from tend.marketing.services import webhooks_out as svc

router = Router(tags=["Webhooks"])


class SubscriptionOut(Schema):
    id: UUID
    name: str
    url: str
    event_types: list[str]
    is_active: bool
    failure_count: int
    disabled_at: dt.datetime | None
    disabled_reason: str
    last_success_at: dt.datetime | None
    last_failure_at: dt.datetime | None
    created_at: dt.datetime


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="The signing secret: shown only now")


class SubscriptionFields(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    url: str | None = Field(None, max_length=500)
    event_types: list[str] | None = Field(None, max_length=50,
                                          description='Event keys, or ["*"] for all')
    is_active: bool | None = None


class SubscriptionIn(SubscriptionFields):
    name: str = Field(max_length=200)
    url: str = Field(max_length=500)
    event_types: list[str] = Field(max_length=50)


class DeliveryOut(Schema):
    id: UUID
    subscription_id: UUID
    event_id: UUID
    event_type: str
    payload: dict[str, Any]
    status: str
    attempt: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    response_code: int | None
    response_body: str
    duration_ms: int
    error: str
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class DeliveryFilter(Schema):
    status: Literal["PENDING", "SUCCEEDED", "FAILED"] | None = None


class EventOut(Schema):
    key: str
    label: str


def _with_secret(sub: Any, secret: str) -> dict[str, Any]:
    return {**SubscriptionOut.from_orm(sub).model_dump(), "secret": secret}


@router.get("/webhooks/events", response=list[EventOut])
def webhooks_events(request: ApiRequest):
    """The event types a subscription can name."""
    require(request, "webhooks.view")
    return [{"key": e.key, "label": str(e.label)} for e in svc.webhook_events()]


@router.get("/webhooks", response=Page[SubscriptionOut])
def webhooks_list(request: ApiRequest, page: Query[PageParams]):
    require(request, "webhooks.view")
    return paginate(webhook_subscription_list(tenant=request.tenant), page,
                    ordering=("name", "id"))


@router.post("/webhooks", response={201: SubscriptionWithSecret})
def webhooks_create(request: ApiRequest, payload: SubscriptionIn):
    """Subscribe a URL. The answer holds the signing secret, shown only this once. Needs
    `webhooks.manage`."""
    actor = require(request, "webhooks.manage")
    sub, secret = svc.webhook_subscription_create(
        tenant=request.tenant, actor=actor, data=payload.model_dump(exclude_unset=True))
    return Status(201, _with_secret(sub, secret))


@router.get("/webhooks/{subscription_id}", response=SubscriptionOut)
def webhooks_get(request: ApiRequest, subscription_id: UUID):
    require(request, "webhooks.view")
    return webhook_subscription_get(tenant=request.tenant, subscription_id=subscription_id)


@router.patch("/webhooks/{subscription_id}", response=SubscriptionOut)
def webhooks_update(request: ApiRequest, subscription_id: UUID, payload: SubscriptionFields):
    """Change it, or switch it on again after it was disabled. Needs `webhooks.manage`."""
    actor = require(request, "webhooks.manage")
    sub = webhook_subscription_get(tenant=request.tenant, subscription_id=subscription_id)
    return svc.webhook_subscription_update(tenant=request.tenant, actor=actor,
                                           subscription=sub,
                                           data=payload.model_dump(exclude_unset=True))


@router.delete("/webhooks/{subscription_id}", response={204: None})
def webhooks_delete(request: ApiRequest, subscription_id: UUID):
    actor = require(request, "webhooks.manage")
    sub = webhook_subscription_get(tenant=request.tenant, subscription_id=subscription_id)
    svc.webhook_subscription_delete(tenant=request.tenant, actor=actor, subscription=sub)
    return Status(204, None)


@router.post("/webhooks/{subscription_id}/rotate-secret", response=SubscriptionWithSecret)
def webhooks_rotate(request: ApiRequest, subscription_id: UUID):
    """A new signing secret (shown only now); the old one stops at once."""
    actor = require(request, "webhooks.manage")
    sub = webhook_subscription_get(tenant=request.tenant, subscription_id=subscription_id)
    sub, secret = svc.webhook_subscription_rotate_secret(tenant=request.tenant, actor=actor,
                                                         subscription=sub)
    return _with_secret(sub, secret)


@router.post("/webhooks/{subscription_id}/test", response=DeliveryOut)
def webhooks_test(request: ApiRequest, subscription_id: UUID):
    """Send a `webhook.test` event now and answer with how it went."""
    actor = require(request, "webhooks.manage")
    sub = webhook_subscription_get(tenant=request.tenant, subscription_id=subscription_id)
    return svc.webhook_send_test(tenant=request.tenant, actor=actor, subscription=sub)


@router.get("/webhooks/{subscription_id}/deliveries", response=Page[DeliveryOut])
def webhooks_deliveries(request: ApiRequest, subscription_id: UUID, page: Query[PageParams],
                        filters: Query[DeliveryFilter]):
    """The delivery log, newest first."""
    require(request, "webhooks.view")
    sub = webhook_subscription_get(tenant=request.tenant, subscription_id=subscription_id)
    qs = webhook_delivery_list(tenant=request.tenant, subscription=sub,
                               status=filters.status or "")
    return paginate(qs, page, ordering=("-created_at", "-id"))


@router.post("/webhooks/deliveries/{delivery_id}/redeliver", response=DeliveryOut)
def webhooks_redeliver(request: ApiRequest, delivery_id: UUID):
    """Send a delivery again now (same event id, fresh signature)."""
    actor = require(request, "webhooks.manage")
    delivery = webhook_delivery_get(tenant=request.tenant, delivery_id=delivery_id)
    return svc.webhook_redeliver(tenant=request.tenant, actor=actor, delivery=delivery)
