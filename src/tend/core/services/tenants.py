"""Creating organizations and accounts."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import BuiltinRole, Membership, Role, Tenant, User
from tend.core.services.audit import audit_record
from tend.core.signals import tenant_created
from tend.core.tenancy import tenant_scope


def _english(label: Any) -> str:
    """Stored names are English; built-in role names are translated when shown."""
    with translation.override("en"):
        return str(label)


RESERVED_SLUGS = frozenset({"admin", "api", "static", "media", "hooks", "login", "logout", "o"})


def user_create(*, email: str, password: str | None, full_name: str = "", language: str = "en",
                is_staff: bool = False, is_superuser: bool = False) -> User:
    """Create a staff account. `password=None` leaves it unusable until set (invitations)."""
    email = (email or "").strip().lower()
    if not email:
        raise ValidationFailed(fields={"email": [_("This field is required.")]})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed(fields={"email": [_("An account with this email already exists.")]})
    return User.objects.create_user(
        email=email, password=password, full_name=full_name, language=language,
        is_staff=is_staff, is_superuser=is_superuser,
    )


def tenant_create(*, name: str, slug: str = "", actor: Actor, owner: User | None = None,
                  time_zone: str = "UTC", default_language: str = "en", region: str = "US",
                  enabled_modules: list[str] | None = None, **extra: Any) -> Tenant:
    """Create an organization with its built-in roles, and make `owner` its owner.

    Sends `tenant_created` inside the transaction so modules can add their defaults.
    """
    name = (name or "").strip()
    slug = slugify(slug or name)[:63]
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("This field is required.")]
    if not slug:
        errors["slug"] = [_("Enter letters or digits.")]
    elif slug in RESERVED_SLUGS:
        errors["slug"] = [_("This address is reserved.")]
    elif Tenant.objects.filter(slug=slug).exists():
        errors["slug"] = [_("This address is taken.")]
    if errors:
        raise ValidationFailed(fields=errors)

    with transaction.atomic():
        tenant = Tenant.objects.create(
            name=name, slug=slug, time_zone=time_zone, default_language=default_language,
            region=region, enabled_modules=list(enabled_modules or []), **extra,
        )
        with tenant_scope(tenant):
            roles = {
                choice.value: Role.objects.create(
                    tenant=tenant, key=choice.value, name=_english(choice.label),
                    is_builtin=True
                )
                for choice in BuiltinRole
            }
            if owner is not None:
                Membership.objects.create(
                    tenant=tenant, user=owner, role=roles[BuiltinRole.OWNER],
                    granted_by=actor.acting_user,
                )
            audit_record(
                tenant=tenant, actor=actor, action="organization.created",
                entity_type="organization", entity_id=tenant.pk,
                changes={"slug": slug, "owner": str(owner.pk) if owner else None},
            )
            tenant_created.send(sender=Tenant, tenant=tenant, actor=actor)
    return tenant
