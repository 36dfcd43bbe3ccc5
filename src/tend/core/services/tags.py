"""Tags: labels staff attach to records, unique per organization by name (case-insensitively).

A tag's `slug` comes from its name (`slugify(..., allow_unicode=True)`, so Arabic names keep
their letters); two names with the same slug ("VIP", "vip", "V.I.P") count as the same tag.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tag, Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm

NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 300
DEFAULT_COLOR = "#6b7280"
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _clean_name(name: Any, errors: dict[str, list[str]]) -> tuple[str, str]:
    if not isinstance(name, str):
        errors["name"] = [_("This field is required.")]
        return "", ""
    name = " ".join(name.split())
    if not name:
        errors["name"] = [_("This field is required.")]
        return "", ""
    if len(name) > NAME_MAX_LENGTH:
        errors["name"] = [_("Use at most %(limit)d characters.") % {"limit": NAME_MAX_LENGTH}]
        return name, ""
    slug = slugify(name, allow_unicode=True)[:NAME_MAX_LENGTH]
    if not slug:
        errors["name"] = [_("Use at least one letter or digit.")]
    return name, slug


def _clean_color(color: Any, errors: dict[str, list[str]]) -> str:
    if color is None or color == "":
        return DEFAULT_COLOR
    if not isinstance(color, str) or not COLOR_RE.match(color.strip()):
        errors["color"] = [_("Enter a color as #rrggbb, e.g. #2563eb.")]
        return DEFAULT_COLOR
    color = color.strip().lower()
    if len(color) == 4:  # #abc → #aabbcc
        color = "#" + "".join(ch * 2 for ch in color[1:])
    return color


def _clean_description(description: Any, errors: dict[str, list[str]]) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        errors["description"] = [_("Enter text.")]
        return ""
    description = description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        errors["description"] = [
            _("Use at most %(limit)d characters.") % {"limit": DESCRIPTION_MAX_LENGTH}
        ]
    return description


def _check_unique(tenant: Tenant, name: str, slug: str, errors: dict[str, list[str]],
                  exclude: Tag | None = None) -> None:
    if "name" in errors:
        return
    qs = Tag.objects.filter(tenant=tenant)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    clash = qs.filter(slug=slug).first() or qs.filter(name__iexact=name).first()
    if clash is not None:
        errors["name"] = [_("The tag %(name)s exists already.") % {"name": clash.name}]


def _duplicate() -> ValidationFailed:
    return ValidationFailed(fields={"name": [_("A tag with this name exists already.")]})


def _check_tag(tenant: Tenant, tag: Tag) -> None:
    if tag.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"tag": [_("Choose a tag of this organization.")]})


def tag_create(*, tenant: Tenant, actor: Actor, name: str, color: str | None = None,
               description: str = "") -> Tag:
    """Create a tag. Needs `tags.add`. The name must differ from every other tag's name of the
    organization ignoring case and punctuation (their slugs differ); color is `#rrggbb`."""
    check_perm(actor, "tags.add")
    errors: dict[str, list[str]] = {}
    name, slug = _clean_name(name, errors)
    clean_color = _clean_color(color, errors)
    clean_description = _clean_description(description, errors)
    _check_unique(tenant, name, slug, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    try:
        with transaction.atomic():
            tag = Tag.objects.create(
                tenant=tenant, name=name, slug=slug, color=clean_color,
                description=clean_description, created_by=actor.acting_user,
                updated_by=actor.acting_user,
            )
            audit_record(tenant=tenant, actor=actor, action="tag.created", entity_type="tag",
                         entity_id=tag.pk, changes={"name": name, "color": clean_color})
    except IntegrityError:  # a concurrent create took the slug
        raise _duplicate() from None
    return tag


def tag_update(*, tenant: Tenant, actor: Actor, tag: Tag, name: str | None = None,
               color: str | None = None, description: str | None = None) -> Tag:
    """Change a tag's name, color or description (None leaves one as it is). Needs
    `tags.change`. Records keep the tag: they refer to it by id."""
    check_perm(actor, "tags.change")
    _check_tag(tenant, tag)
    errors: dict[str, list[str]] = {}
    new_name, new_slug = tag.name, tag.slug
    if name is not None:
        new_name, new_slug = _clean_name(name, errors)
        if new_name != tag.name:
            _check_unique(tenant, new_name, new_slug, errors, exclude=tag)
    new_color = tag.color if color is None else _clean_color(color, errors)
    new_description = (tag.description if description is None
                       else _clean_description(description, errors))
    if errors:
        raise ValidationFailed(fields=errors)
    before = {"name": tag.name, "color": tag.color, "description": tag.description}
    after = {"name": new_name, "color": new_color, "description": new_description}
    changed = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if not changed:
        return tag
    try:
        with transaction.atomic():
            tag.name, tag.slug, tag.color = new_name, new_slug, new_color
            tag.description = new_description
            tag.updated_by = actor.acting_user
            tag.save(update_fields=["name", "slug", "color", "description", "updated_by",
                                    "updated_at"])
            audit_record(tenant=tenant, actor=actor, action="tag.updated", entity_type="tag",
                         entity_id=tag.pk, changes=changed)
    except IntegrityError:
        tag.refresh_from_db()
        raise _duplicate() from None
    return tag


def tag_rename(*, tenant: Tenant, actor: Actor, tag: Tag, name: str) -> Tag:
    """Rename a tag (see `tag_update`)."""
    if name is None:
        raise ValidationFailed(fields={"name": [_("This field is required.")]})
    return tag_update(tenant=tenant, actor=actor, tag=tag, name=name)


def tag_recolor(*, tenant: Tenant, actor: Actor, tag: Tag, color: str) -> Tag:
    """Give a tag another color, `#rrggbb` (see `tag_update`)."""
    if not color:
        raise ValidationFailed(fields={"color": [_("This field is required.")]})
    return tag_update(tenant=tenant, actor=actor, tag=tag, color=color)


def tag_delete(*, tenant: Tenant, actor: Actor, tag: Tag) -> None:
    """Delete a tag; records lose it (their links cascade). Needs `tags.delete`."""
    check_perm(actor, "tags.delete")
    _check_tag(tenant, tag)
    with transaction.atomic():
        tag_id, name = tag.pk, tag.name
        tag.delete()
        audit_record(tenant=tenant, actor=actor, action="tag.deleted", entity_type="tag",
                     entity_id=tag_id, changes={"name": name})
