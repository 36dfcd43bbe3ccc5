"""Template helpers of the shell."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def org_url(context: dict[str, Any], url_name: str, *args: Any) -> str:
    """The URL of `url_name` in the current organization, or "" if that page is not installed
    (so links to optional pages simply do not render)."""
    tenant = context.get("tenant")
    if tenant is None:
        return ""
    try:
        return reverse(url_name, args=[tenant.slug, *args])
    except NoReverseMatch:
        return ""


@register.filter
def has_perm(actor: Any, permission: str) -> bool:
    """`{% if actor|has_perm:"members.add" %}`"""
    return bool(actor is not None and actor.has_perm(permission))
