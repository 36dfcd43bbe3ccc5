"""Outbound webhooks: organizations subscribe URLs to event types; events become signed
deliveries the worker sends, retries with capped backoff and logs.

Modules name their events once (`register_webhook_event(key, label)`) and emit them after
commit with `webhook_emit(tenant=…, key=…, payload=…)`: one cheap lookup when nobody
subscribed, otherwise one `WebhookDelivery` row per matching subscription.

A delivery is a POST of JSON

    {"id": <event id>, "type": <key>, "created_at": <ISO 8601>, "organization": <slug>,
     "data": <payload>}

with `X-Tend-Event`, `X-Tend-Delivery`, `X-Tend-Timestamp: <unix seconds>` and
`X-Tend-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` — the scheme
of people's ingestion sources, so one verifier serves both directions. Any 2xx is success;
anything else (or no answer within `TIMEOUT_SECONDS`) is retried after `backoff(attempt)`
until `MAX_ATTEMPTS`. `DISABLE_AFTER` consecutive failed attempts switch the subscription
off and notify the organization's admins.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.crypto import InvalidToken, decrypt, encrypt
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.outbound import UnsafeURL, public_target, url_problem
from tend.core.services.audit import audit_record
from tend.core.services.changes import changed_values, save_changes
from tend.core.services.guards import check_perm
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.text import clean_text
from tend.marketing.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tend.people.services.sources import SECRET_PREFIX, signature_compute

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 8
DISABLE_AFTER = 15
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 6 * 3600
LEASE_SECONDS = 60
BATCH = 50
MAX_RESPONSE_EXCERPT = 1000
# Bytes of a receiver's answer read to make the excerpt (4 bytes a character at most).
MAX_RESPONSE_READ = 4 * MAX_RESPONSE_EXCERPT
MAX_PAYLOAD_BYTES = 256 * 1024
ALL_EVENTS = "*"
USER_AGENT = "Tend-Webhooks/1"


@dataclass(frozen=True)
class WebhookEvent:
    key: str
    label: str | Promise
    description: str | Promise = ""


_events: dict[str, WebhookEvent] = {}


def register_webhook_event(key: str, label: str | Promise, description: str | Promise = ""
                           ) -> None:
    """Make `key` (`<noun>.<verb>`, at most 60 characters) subscribable."""
    if not key or len(key) > 60 or key == ALL_EVENTS:
        raise ValueError("a webhook event needs a key of 1 to 60 characters")
    _events[key] = WebhookEvent(key, label, description)


def webhook_events() -> list[WebhookEvent]:
    return sorted(_events.values(), key=lambda e: e.key)


def backoff(attempt: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1-based): 30 s doubling,
    capped at six hours."""
    return timedelta(seconds=min(BACKOFF_CAP_SECONDS,
                                 BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1)))


# --- who listens: a short-lived per-process cache --------------------------------------------

# tenant id → (monotonic expiry, {event keys with an active subscription}). Emitting an event
# nobody subscribed to must cost nothing per contact change or activity; subscriptions change
# rarely, and a change made in this process clears the entry at once.
_listening: dict[Any, tuple[float, frozenset[str]]] = {}
LISTEN_CACHE_SECONDS = 10.0


def _listened_keys(tenant: Tenant) -> frozenset[str]:
    now = time.monotonic()
    cached = _listening.get(tenant.pk)
    if cached is not None and cached[0] > now:
        return cached[1]
    keys: set[str] = set()
    for types in WebhookSubscription.objects.filter(tenant=tenant, is_active=True).values_list(
            "event_types", flat=True):
        keys.update(types or ())
    result = frozenset(keys)
    _listening[tenant.pk] = (now + LISTEN_CACHE_SECONDS, result)
    return result


def is_listened(tenant: Tenant, key: str) -> bool:
    """Whether any active subscription of `tenant` wants `key` (cached briefly): check it
    before building an expensive payload."""
    with tenant_scope(tenant):
        keys = _listened_keys(tenant)
    return key in keys or ALL_EVENTS in keys


def _forget(tenant: Tenant) -> None:
    _listening.pop(tenant.pk, None)


# --- subscriptions -----------------------------------------------------------------------------


def _clean(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "name" in data or creating:
        out["name"] = clean_text(data.get("name"), "name", errors, required=True, limit=200,
                                 collapse=True)
    if "url" in data or creating:
        url = str(data.get("url") or "").strip()
        if problem := url_problem(url):
            errors["url"] = [problem]
        out["url"] = url
    if "event_types" in data or creating:
        types = data.get("event_types") or []
        if not isinstance(types, list | tuple) or not types:
            errors["event_types"] = [_("Choose at least one event.")]
        else:
            unknown = [t for t in types if t != ALL_EVENTS and t not in _events]
            if unknown:
                errors["event_types"] = [_("Unknown event: %(key)s") % {"key": unknown[0]}]
            out["event_types"] = sorted({str(t) for t in types})
    if "is_active" in data and data["is_active"] is not None:
        out["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def webhook_subscription_create(*, tenant: Tenant, actor: Actor, data: dict[str, Any]
                                ) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL; returns `(subscription, secret)`. The signing secret is shown once
    (rotate it if lost). Needs `webhooks.manage`."""
    check_perm(actor, "webhooks.manage")
    clean = _clean(data, creating=True)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        sub = WebhookSubscription.objects.create(
            tenant=tenant, name=clean["name"], url=clean["url"],
            event_types=clean["event_types"], is_active=clean.get("is_active", True),
            secret_encrypted=encrypt(secret), created_by=actor.acting_user,
            updated_by=actor.acting_user)
        audit_record(tenant=tenant, actor=actor, action="webhook.created",
                     entity_type="webhook", entity_id=sub.pk,
                     changes={"url": sub.url, "event_types": sub.event_types})
    _forget(tenant)
    return sub, secret


def webhook_subscription_update(*, tenant: Tenant, actor: Actor, subscription:
                                WebhookSubscription, data: dict[str, Any]
                                ) -> WebhookSubscription:
    """Change name, URL, events or switch on/off. Switching a disabled subscription on
    clears its failure count. Needs `webhooks.manage`."""
    check_perm(actor, "webhooks.manage")
    clean = _clean(data, creating=False)
    changes = changed_values(subscription, clean)
    if not changes:
        return subscription
    with transaction.atomic():
        also: list[str] = []
        if changes.get("is_active"):
            subscription.failure_count = 0
            subscription.disabled_at = None
            subscription.disabled_reason = ""
            also = ["failure_count", "disabled_at", "disabled_reason"]
        save_changes(subscription, changes, actor=actor, also=also)
        audit_record(tenant=tenant, actor=actor, action="webhook.updated",
                     entity_type="webhook", entity_id=subscription.pk, changes=changes)
    _forget(tenant)
    return subscription


def webhook_subscription_rotate_secret(*, tenant: Tenant, actor: Actor,
                                       subscription: WebhookSubscription
                                       ) -> tuple[WebhookSubscription, str]:
    """A new signing secret; the old one stops at once. Needs `webhooks.manage`."""
    check_perm(actor, "webhooks.manage")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        subscription.secret_encrypted = encrypt(secret)
        subscription.updated_by = actor.acting_user
        subscription.save(update_fields=["secret_encrypted", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="webhook.secret_rotated",
                     entity_type="webhook", entity_id=subscription.pk, changes={})
    return subscription, secret


def webhook_subscription_delete(*, tenant: Tenant, actor: Actor,
                                subscription: WebhookSubscription) -> None:
    """Delete a subscription and its delivery log. Needs `webhooks.manage`."""
    check_perm(actor, "webhooks.manage")
    with transaction.atomic():
        pk = subscription.pk
        subscription.delete()
        audit_record(tenant=tenant, actor=actor, action="webhook.deleted",
                     entity_type="webhook", entity_id=pk, changes={})
    _forget(tenant)


# --- events → deliveries -----------------------------------------------------------------------


def _envelope(tenant: Tenant, key: str, event_id: uuid.UUID, payload: Any,
              at: datetime) -> dict[str, Any]:
    return {"id": str(event_id), "type": key, "created_at": at.isoformat(),
            "organization": tenant.slug, "data": payload}


def _json_safe(payload: Any) -> Any:
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def webhook_emit(*, tenant: Tenant, key: str, payload: dict[str, Any],
                 subscriptions: Iterable[WebhookSubscription] | None = None) -> int:
    """Queue event `key` with `payload` (JSON-able: UUIDs and datetimes become strings) for
    every active subscription listening to it (or only `subscriptions`). Call after commit
    of the change it reports, inside the organization's scope or not. Returns how many
    deliveries were queued; a key nobody listens to costs no query (within the cache
    time). The worker is woken after commit."""
    if key not in _events:
        raise ValueError(f"unknown webhook event {key!r}")
    with tenant_scope(tenant):
        if subscriptions is None:
            listened = _listened_keys(tenant)
            if key not in listened and ALL_EVENTS not in listened:
                return 0
            subscriptions = [s for s in WebhookSubscription.objects.filter(
                tenant=tenant, is_active=True)
                if key in s.event_types or ALL_EVENTS in s.event_types]
        subscriptions = list(subscriptions)
        if not subscriptions:
            return 0
        now = timezone.now()
        event_id = uuid.uuid4()
        body = _envelope(tenant, key, event_id, _json_safe(payload), now)
        if len(json.dumps(body)) > MAX_PAYLOAD_BYTES:
            body["data"] = {"truncated": True}
        WebhookDelivery.objects.bulk_create([
            WebhookDelivery(tenant=tenant, subscription=s, event_id=event_id, event_type=key,
                            payload=body, next_attempt_at=now) for s in subscriptions])
    _wake(tenant)
    return len(subscriptions)


def webhook_emit_many(*, tenant: Tenant, key: str, payloads: Sequence[dict[str, Any]]) -> int:
    """Queue one event `key` per payload (as `webhook_emit` does for one) with a single
    insert of every delivery, for a batch of changes that each are an event (a batch of
    enrollments completing a journey). May run inside the transaction of the changes: the
    deliveries then commit or roll back with them. Returns how many deliveries were queued."""
    if key not in _events:
        raise ValueError(f"unknown webhook event {key!r}")
    if not payloads:
        return 0
    with tenant_scope(tenant):
        listened = _listened_keys(tenant)
        if key not in listened and ALL_EVENTS not in listened:
            return 0
        subscriptions = [s for s in WebhookSubscription.objects.filter(
            tenant=tenant, is_active=True)
            if key in s.event_types or ALL_EVENTS in s.event_types]
        if not subscriptions:
            return 0
        now = timezone.now()
        rows = []
        for payload in payloads:
            event_id = uuid.uuid4()
            body = _envelope(tenant, key, event_id, _json_safe(payload), now)
            if len(json.dumps(body)) > MAX_PAYLOAD_BYTES:
                body["data"] = {"truncated": True}
            rows += [WebhookDelivery(tenant=tenant, subscription=s, event_id=event_id,
                                     event_type=key, payload=body, next_attempt_at=now)
                     for s in subscriptions]
        WebhookDelivery.objects.bulk_create(rows, batch_size=1000)
    _wake(tenant)
    return len(rows)


def _wake(tenant: Tenant) -> None:
    from tend.core.background import enqueue_on_commit
    from tend.marketing.tasks_automation import webhooks_deliver_task

    enqueue_on_commit(webhooks_deliver_task, str(tenant.pk))


def webhook_send_test(*, tenant: Tenant, actor: Actor,
                      subscription: WebhookSubscription) -> WebhookDelivery:
    """Queue a `webhook.test` event for this subscription only (active or not) and send it
    now. Needs `webhooks.manage`."""
    check_perm(actor, "webhooks.manage")
    now = timezone.now()
    event_id = uuid.uuid4()
    delivery = WebhookDelivery.objects.create(
        tenant=tenant, subscription=subscription, event_id=event_id, event_type="webhook.test",
        payload=_envelope(tenant, "webhook.test", event_id,
                          {"message": "This is a test event from Tend.",
                           "subscription_id": str(subscription.pk)}, now),
        next_attempt_at=now, created_by=actor.acting_user)
    return webhook_deliver_one(tenant=tenant, delivery=delivery, manual=True)


def webhook_redeliver(*, tenant: Tenant, actor: Actor, delivery: WebhookDelivery
                      ) -> WebhookDelivery:
    """Send a delivery again now (the same event id, a fresh signature and timestamp),
    whatever its status. Needs `webhooks.manage`."""
    check_perm(actor, "webhooks.manage")
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(tenant=tenant, pk=delivery.pk)
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = timezone.now()
        locked.lease_until = None
        locked.save(update_fields=["status", "next_attempt_at", "lease_until", "updated_at"])
    return webhook_deliver_one(tenant=tenant, delivery=locked, manual=True)


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None
    body: str
    duration_ms: int
    error: str


def signed_request(secret: str, body: bytes, *, timestamp: int | None = None
                   ) -> dict[str, str]:
    """The signature headers of `body` (what a receiver verifies)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-Tend-Timestamp": stamp, "X-Tend-Signature": signature_compute(secret, stamp,
                                                                             body)}


# One keep-alive client per host name: requests go to the checked address (`public_target`),
# and httpx pools connections by address, so a shared client would carry a request for one
# name over a TLS connection whose certificate was checked for another name at that address.
_clients: OrderedDict[str, httpx.Client] = OrderedDict()
_CLIENTS_MAX = 64
_clients_lock = threading.Lock()


def _http(name: str) -> httpx.Client:
    with _clients_lock:
        client = _clients.get(name)
        if client is None:
            client = _clients[name] = httpx.Client(
                timeout=TIMEOUT_SECONDS, follow_redirects=False,
                headers={"User-Agent": USER_AGENT})
            while len(_clients) > _CLIENTS_MAX:
                _clients.popitem(last=False)  # not closed here: it may be in use
        _clients.move_to_end(name)
    return client


def _post(delivery: WebhookDelivery, secret: str) -> Attempt:
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Tend-Event": delivery.event_type,
               "X-Tend-Delivery": str(delivery.event_id), **signed_request(secret, body)}
    try:
        target = public_target(delivery.subscription.url)
    except UnsafeURL as exc:  # refused before any request is made
        return Attempt(False, None, "", 0, str(exc)[:500])
    started = time.monotonic()
    try:
        # Only the start of the answer is kept, so only that much is read: a receiver
        # answering without end costs neither memory nor the timeout.
        with _http(target.name).stream(
                "POST", target.url, content=body, headers={**headers, **target.headers},
                extensions=target.extensions) as response:
            received = bytearray()
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= MAX_RESPONSE_READ:
                    break
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Attempt(False, None, "", elapsed, f"{type(exc).__name__}: {exc}"[:500])
    elapsed = int((time.monotonic() - started) * 1000)
    excerpt = bytes(received[:MAX_RESPONSE_READ]).decode(
        response.encoding or "utf-8", errors="replace")[:MAX_RESPONSE_EXCERPT]
    ok = 200 <= response.status_code < 300
    return Attempt(ok, response.status_code, excerpt, elapsed,
                   "" if ok else f"HTTP {response.status_code}")


_RECORDED = ["attempt", "last_attempt_at", "response_code", "response_body", "duration_ms",
             "error", "lease_until", "status", "delivered_at", "next_attempt_at", "updated_at"]


def _apply(delivery: WebhookDelivery, attempt: Attempt, now: datetime, *, manual: bool) -> None:
    """Put the outcome of `attempt` on `delivery` (not saved)."""
    delivery.attempt += 1
    delivery.last_attempt_at = now
    delivery.response_code = attempt.status_code
    delivery.response_body = attempt.body
    delivery.duration_ms = attempt.duration_ms
    delivery.error = attempt.error
    delivery.lease_until = None
    delivery.updated_at = now
    if attempt.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif manual or delivery.attempt >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now + backoff(delivery.attempt)


def _save_outcomes(deliveries: list[WebhookDelivery]) -> None:
    """One parameterized UPDATE per delivery through `executemany` (Django's `bulk_update`
    builds a CASE per field and row, which costs more than the HTTP requests)."""
    from django.db import connection

    meta = WebhookDelivery._meta
    fields = [f for f in meta.concrete_fields if f.name in _RECORDED]
    columns = [f.column for f in fields]
    sql = (f'UPDATE "{meta.db_table}" SET '
           + ", ".join(f'"{c}" = %s' for c in columns)
           + f' WHERE "{meta.pk.column}" = %s AND "tenant_id" = %s')
    params = []
    for d in deliveries:
        row = [f.get_db_prep_save(getattr(d, f.attname), connection) for f in fields]
        row.append(meta.pk.get_db_prep_value(d.pk, connection))
        row.append(meta.pk.get_db_prep_value(d.tenant_id, connection))
        params.append(row)
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _record_many(tenant: Tenant, results: list[tuple[WebhookDelivery, Attempt]], *,
                 manual: bool = False) -> None:
    """Record a batch of attempts in one transaction: the deliveries with one bulk update,
    each subscription's consecutive-failure count once (a success resets it; failures after
    the last success add up), and switch off those that reached `DISABLE_AFTER`."""
    if not results:
        return
    now = timezone.now()
    by_sub: dict[Any, list[bool]] = {}
    for delivery, attempt in results:
        _apply(delivery, attempt, now, manual=manual)
        by_sub.setdefault(delivery.subscription_id, []).append(attempt.ok)
    with transaction.atomic():
        _save_outcomes([d for d, _a in results])
        for sub_id, outcomes in by_sub.items():
            trailing = len(outcomes) - (max(i for i, ok in enumerate(outcomes) if ok) + 1
                                        if any(outcomes) else 0)
            subs = WebhookSubscription.objects.filter(tenant=tenant, pk=sub_id)
            if any(outcomes):
                subs.update(failure_count=trailing, last_success_at=now,
                            **({"last_failure_at": now} if trailing else {}))
            else:
                subs.update(failure_count=F("failure_count") + trailing, last_failure_at=now)
            if trailing:
                sub = subs.first()
                if sub is not None and sub.is_active and sub.failure_count >= DISABLE_AFTER:
                    _disable(tenant, sub, now)
    for delivery, _a in results:
        if delivery.status == DeliveryStatus.PENDING and not WebhookSubscription.objects.filter(
                tenant=tenant, pk=delivery.subscription_id, is_active=True).exists():
            delivery.refresh_from_db()


def _disable(tenant: Tenant, sub: WebhookSubscription, now: datetime) -> None:
    """Switch `sub` off after too many failures; its pending deliveries fail, admins hear."""
    from tend.core.services.notifications import notification_create

    reason = _("%(count)d deliveries in a row failed.") % {"count": sub.failure_count}
    changed = WebhookSubscription.objects.filter(tenant=tenant, pk=sub.pk, is_active=True
                                                 ).update(is_active=False, disabled_at=now,
                                                          disabled_reason=reason)
    if not changed:
        return
    sub.is_active = False
    WebhookDelivery.objects.filter(tenant=tenant, subscription=sub,
                                   status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None,
        error="subscription disabled")
    _forget(tenant)
    audit_record(tenant=tenant, actor=Actor.system(), action="webhook.disabled",
                 entity_type="webhook", entity_id=sub.pk, changes={"reason": reason})
    title = _("Webhook “%(name)s” was switched off") % {"name": sub.name}
    from django.urls import reverse

    url = reverse("marketing:webhooks-detail", kwargs={"org_slug": tenant.slug,
                                                        "subscription_id": sub.pk})
    for user in webhook_admins(tenant=tenant):
        notification_create(tenant=tenant, user=user, kind="webhook.disabled", title=title,
                            body=f"{sub.url}\n{reason}", url=url,
                            dedupe_key=f"webhook.disabled:{sub.pk}:{now:%Y%m%d%H%M%S}")


def webhook_admins(*, tenant: Tenant) -> list[Any]:
    """The active members who may manage webhooks (they hear about a disabled one)."""
    from tend.core.models import Membership

    memberships = (Membership.objects.filter(tenant=tenant, is_active=True,
                                             user__is_active=True)
                   .select_related("user", "role"))
    return [m.user for m in memberships
            if m.is_current and "webhooks.manage" in m.role.permission_set()]


def _secret_of(sub: WebhookSubscription) -> str:
    try:
        return decrypt(sub.secret_encrypted)
    except InvalidToken:
        return ""


def _attempt(delivery: WebhookDelivery, secret: str) -> Attempt:
    if not secret:
        return Attempt(False, None, "", 0, "the signing secret cannot be read; rotate it")
    return _post(delivery, secret)


def webhook_deliver_one(*, tenant: Tenant, delivery: WebhookDelivery,
                        manual: bool = False) -> WebhookDelivery:
    """Make one attempt at `delivery` now and record it (a manual attempt that fails is not
    retried). Call outside a transaction: the HTTP request must not hold locks."""
    sub = WebhookSubscription.objects.get(tenant=tenant, pk=delivery.subscription_id)
    delivery.subscription = sub
    _record_many(tenant, [(delivery, _attempt(delivery, _secret_of(sub)))], manual=manual)
    return delivery


def _send_batch(tenant: Tenant, ids: list[Any]) -> int:
    """Send the claimed deliveries `ids` of one organization, then record them together."""
    deliveries = list(WebhookDelivery.objects.filter(
        tenant=tenant, pk__in=ids, status=DeliveryStatus.PENDING).select_related(
        "subscription").order_by("next_attempt_at"))
    secrets_by_sub: dict[Any, str] = {}
    results: list[tuple[WebhookDelivery, Attempt]] = []
    for delivery in deliveries:
        sub = delivery.subscription
        if sub.pk not in secrets_by_sub:
            secrets_by_sub[sub.pk] = _secret_of(sub)
        try:
            attempt = _attempt(delivery, secrets_by_sub[sub.pk])
        except Exception as exc:  # one bad row must not stop the others
            logger.exception("webhook delivery %s failed", delivery.pk)
            attempt = Attempt(False, None, "", 0, f"{type(exc).__name__}: {exc}"[:500])
        results.append((delivery, attempt))
    _record_many(tenant, results)
    return len(results)


def _claim(now: datetime, *, tenant: Tenant | None, batch: int
           ) -> list[tuple[Any, Any]]:
    qs = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING,
                                        next_attempt_at__lte=now,
                                        subscription__is_active=True)
    qs = qs.filter(tenant=tenant) if tenant is not None else qs.filter(tenant__is_active=True)
    from django.db.models import Q

    qs = qs.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    with transaction.atomic():
        rows = list(qs.select_for_update(skip_locked=True, of=("self",))
                    .order_by("next_attempt_at").values_list("pk", "tenant_id")[:batch])
        if rows:
            WebhookDelivery.objects.filter(pk__in=[pk for pk, _t in rows]).update(
                lease_until=now + timedelta(seconds=LEASE_SECONDS))
    return rows


def webhooks_deliver_due(*, tenant: Tenant | None = None, now: datetime | None = None,
                         batch: int = BATCH, max_batches: int = 20) -> int:
    """Send due deliveries (of one organization, or all under `system_scope`): claim a batch
    with `SKIP LOCKED` and a lease, send each outside the claim's transaction, record.
    Safe from any number of workers. Returns how many attempts were made."""
    sent = 0
    tenants: dict[Any, Tenant] = {}
    for _round in range(max_batches):
        moment = now or timezone.now()
        if tenant is not None:
            with tenant_scope(tenant):
                rows = _claim(moment, tenant=tenant, batch=batch)
        else:
            with system_scope():
                rows = _claim(moment, tenant=None, batch=batch)
        if not rows:
            break
        by_tenant: dict[Any, list[Any]] = {}
        for pk, tenant_id in rows:
            by_tenant.setdefault(tenant_id, []).append(pk)
        for tenant_id, ids in by_tenant.items():
            owner = tenant if tenant is not None else tenants.get(tenant_id)
            if owner is None:
                with system_scope():
                    owner = tenants[tenant_id] = Tenant.objects.get(pk=tenant_id)
            with tenant_scope(owner):
                sent += _send_batch(owner, ids)
        if len(rows) < batch:
            break
    return sent
