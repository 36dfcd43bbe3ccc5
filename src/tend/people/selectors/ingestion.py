"""Reads for ingestion: activities (the API list), ingestion sources and the ingestion log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import Tenant
from tend.core.services.guards import check_perm
from tend.people.choices import IngestionStatus
from tend.people.models import Activity, IngestionLog, IngestionSource


def activity_list(*, tenant: Tenant, actor: Actor, contact_id: UUID | None = None,
                  type: str | None = None, category: str | None = None,
                  since: datetime | None = None) -> QuerySet[Activity]:
    """Activities of `tenant`, filtered; `since` keeps those that occurred at or after it.
    Needs `activities.view`."""
    check_perm(actor, "activities.view")
    rows = Activity.objects.filter(tenant=tenant)
    if contact_id is not None:
        rows = rows.filter(contact_id=contact_id)
    if type:
        rows = rows.filter(type=type.strip().upper())
    if category:
        rows = rows.filter(category=category.strip().upper())
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    return rows


def source_list(*, tenant: Tenant, actor: Actor) -> QuerySet[IngestionSource]:
    """The organization's ingestion sources by name. Needs `activities.manage`."""
    check_perm(actor, "activities.manage")
    return IngestionSource.objects.filter(tenant=tenant).order_by("name", "id")


def access_source(*, tenant: Tenant, actor: Actor, source_id: Any) -> IngestionSource:
    """One source of `tenant`, or `NotFound` (also for other organizations' ids). Needs
    `activities.manage`."""
    check_perm(actor, "activities.manage")
    source = IngestionSource.objects.filter(tenant=tenant, pk=source_id).first()
    if source is None:
        raise NotFound()
    return source


def ingestion_log_list(*, tenant: Tenant, actor: Actor, status: str | None = None,
                       source_id: UUID | None = None) -> QuerySet[IngestionLog]:
    """The ingestion log, newest first, optionally by status and source. Needs
    `activities.manage`."""
    check_perm(actor, "activities.manage")
    rows = IngestionLog.objects.filter(tenant=tenant).select_related("source")
    if status:
        if status not in IngestionStatus.values:
            raise ValidationFailed(fields={"status": [_("Choose one of: %(values)s.")
                                                      % {"values": ", ".join(
                                                          IngestionStatus.values)}]})
        rows = rows.filter(status=status)
    if source_id is not None:
        rows = rows.filter(source_id=source_id)
    return rows
