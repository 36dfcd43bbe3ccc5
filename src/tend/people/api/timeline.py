"""A contact's timeline: the activity stream rendered through the timeline registry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from tend.core.api.base import ApiRequest, Page, PageParams, decode_cursor, paginate, require
from tend.core.errors import ValidationFailed
from tend.people.selectors.contact_page import access_contact
from tend.people.selectors.contacts import company_get
from tend.people.selectors.timeline import (
    TIMELINE_ORDERING,
    cursor_bound,
    timeline_for,
    timeline_for_company,
)
from tend.people.timeline import actor_display, render_activity, renderer_for

router = Router(tags=["Timeline"])


class TimelineItemOut(Schema):
    id: UUID
    contact_id: UUID | None = Field(description="Whom it is about (on a company timeline).")
    type: str
    category: str
    channel: str
    icon: str = Field(description="Icon name from the type's timeline renderer.")
    display_title: str = Field(description="Title as the timeline shows it.")
    title: str
    description: str
    metadata: dict[str, Any]
    source: str
    occurred_at: datetime
    actor_label: str
    actor_display: str = Field(description="The actor label in the reader's language.")
    related_type: str
    related_id: str

    @staticmethod
    def resolve_icon(obj: Any) -> str:
        return renderer_for(obj.type).icon

    @staticmethod
    def resolve_display_title(obj: Any) -> str:
        return render_activity(obj).title

    @staticmethod
    def resolve_actor_display(obj: Any) -> str:
        return actor_display(obj.actor_label or "")


class TimelineFilter(Schema):
    category: str | None = Field(None, max_length=30)
    type: list[str] | None = Field(None, description="One or more activity types.")
    since: date | None = Field(None, description="From this day (organization's time zone).")
    until: date | None = Field(None, description="Up to and including this day.")


def _check_dates(filters: TimelineFilter) -> None:
    if filters.since and filters.until and filters.since > filters.until:
        raise ValidationFailed(fields={"until": [_("Must not be before since.")]})


def _filters(filters: TimelineFilter, page: PageParams) -> dict[str, Any]:
    """The selector's filters, with the time a next page starts from (a malformed cursor is
    left to `paginate`, which answers 422)."""
    values = decode_cursor(page.cursor, len(TIMELINE_ORDERING)) if page.cursor else None
    return {**filters.model_dump(), "not_after": cursor_bound(values)}


@router.get("/contacts/{contact_id}/timeline", response=Page[TimelineItemOut])
def timeline_get(request: ApiRequest, contact_id: UUID, page: Query[PageParams],
                 filters: Query[TimelineFilter]) -> dict[str, Any]:
    """The contact's activities, newest first, cursor-paginated by (occurred_at, id). Other
    people's private notes are left out. Needs `activities.view`."""
    actor = require(request, "activities.view")
    _check_dates(filters)
    contact = access_contact(tenant=request.tenant, contact_id=contact_id, related=False)
    qs = timeline_for(tenant=request.tenant, actor=actor, contact=contact,
                      filters=_filters(filters, page))
    return paginate(qs, page, ordering=TIMELINE_ORDERING)


@router.get("/companies/{company_id}/timeline", response=Page[TimelineItemOut])
def company_timeline_get(request: ApiRequest, company_id: UUID, page: Query[PageParams],
                         filters: Query[TimelineFilter]) -> dict[str, Any]:
    """The company's own activities and its people's, newest first, with the contact
    timeline's filters and cursor. Needs `companies.view`, `contacts.view` and
    `activities.view`."""
    actor = require(request, "companies.view", "contacts.view", "activities.view")
    _check_dates(filters)
    company = company_get(tenant=request.tenant, company_id=company_id)
    qs = timeline_for_company(tenant=request.tenant, actor=actor, company=company,
                              filters=_filters(filters, page))
    return paginate(qs, page, ordering=TIMELINE_ORDERING)
