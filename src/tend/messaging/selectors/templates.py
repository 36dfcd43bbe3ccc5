"""Reading message templates."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tend.core.models import Tenant
from tend.core.selectors.lookup import one_or_not_found
from tend.messaging.choices import TemplateStatus
from tend.messaging.models import Template

TEMPLATE_ORDERING = ("key", "channel", "language", "-version", "id")


def template_list(*, tenant: Tenant, key: str = "", channel: str = "", language: str = "",
                  status: str = "", q: str = "") -> QuerySet[Template]:
    """`tenant`'s template versions, by key, channel, language, newest version first."""
    qs = Template.objects.filter(tenant=tenant)
    if key:
        qs = qs.filter(key=key)
    if channel:
        qs = qs.filter(channel=channel)
    if language:
        qs = qs.filter(language=language)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(key__icontains=q) | qs.filter(name__icontains=q)
    return qs.order_by(*TEMPLATE_ORDERING)


def template_get(*, tenant: Tenant, template_id: Any) -> Template:
    return one_or_not_found(Template.objects.filter(tenant=tenant), template_id,
                            _("There is no such template."))


def template_versions(*, tenant: Tenant, template: Template) -> list[Template]:
    """Every version of `template`'s key, channel and language, newest first."""
    return list(Template.objects.filter(tenant=tenant, key=template.key,
                                        channel=template.channel, language=template.language)
                .order_by("-version"))


def templates_for_channel(*, tenant: Tenant, channel: str) -> list[Template]:
    """The published templates of `channel` (the inbox's template picker)."""
    return list(Template.objects.filter(tenant=tenant, channel=channel,
                                        status=TemplateStatus.PUBLISHED)
                .order_by("key", "language"))
