"""A staff person's own account: profile, language, password; platform-wide disabling.

These act on the account, not on one organization, so they record their audit entry in
every organization the person currently belongs to (ids and field names only).
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import Membership, User
from tend.core.services.audit import audit_record
from tend.core.tenancy import system_scope, tenant_scope


@cache
def time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def language_codes() -> set[str]:
    return {code for code, _label in settings.LANGUAGES}


def _audit_everywhere(*, user: User, actor: Actor, action: str, changes: dict) -> None:
    with system_scope():
        tenants = [m.tenant for m in Membership.objects.filter(user=user).select_related("tenant")]
    for tenant in tenants:
        with tenant_scope(tenant):
            audit_record(tenant=tenant, actor=actor, action=action, entity_type="user",
                         entity_id=user.pk, changes=changes)


def _self_actor(user: User, actor: Actor | None) -> Actor:
    return actor or Actor(kind="user", user=user)


def user_update_profile(*, user: User, full_name: str, language: str, time_zone: str,
                        actor: Actor | None = None) -> User:
    """Set the person's name, interface language (one of `settings.LANGUAGES`) and time zone
    (an IANA name)."""
    errors: dict[str, list[str]] = {}
    full_name = (full_name or "").strip()
    if len(full_name) > 200:
        errors["full_name"] = [_("Use at most 200 characters.")]
    if language not in language_codes():
        errors["language"] = [_("Choose one of the offered languages.")]
    if time_zone not in time_zone_names():
        errors["time_zone"] = [_("Choose a time zone from the list.")]
    if errors:
        raise ValidationFailed(fields=errors)
    new = {"full_name": full_name, "language": language, "time_zone": time_zone}
    changed = sorted(k for k, v in new.items() if getattr(user, k) != v)
    if not changed:
        return user
    with transaction.atomic():
        for key, value in new.items():
            setattr(user, key, value)
        user.save(update_fields=list(new))
        _audit_everywhere(user=user, actor=_self_actor(user, actor),
                          action="user.profile_updated", changes={"fields": changed})
    return user


def user_set_language(*, user: User, language: str, actor: Actor | None = None) -> User:
    """Change only the interface language."""
    return user_update_profile(user=user, full_name=user.full_name, language=language,
                               time_zone=user.time_zone, actor=actor)


def _bump_epoch(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


def user_set_password(*, user: User, new_password: str, actor: Actor | None = None) -> User:
    """Set a new password (after the caller proved who the person is, e.g. a reset link).

    Validates it with the configured password validators and ends every other session of the
    account by moving its session epoch; the caller keeps its own session alive if it wants.
    """
    try:
        validate_password(new_password or "", user)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={"new_password": list(exc.messages)}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _bump_epoch(user)
        _audit_everywhere(user=user, actor=_self_actor(user, actor),
                          action="user.password_changed", changes={})
    return user


def user_change_password(*, user: User, old_password: str, new_password: str,
                         actor: Actor | None = None) -> User:
    """Change the password after checking the current one; other sessions end."""
    if not user.check_password(old_password or ""):
        raise ValidationFailed(fields={"old_password": [_("Your current password is wrong.")]})
    return user_set_password(user=user, new_password=new_password, actor=actor)


def _check_platform_admin(actor: Actor) -> None:
    if actor.is_system:
        return
    if actor.kind == "user" and actor.user is not None and actor.user.is_superuser:
        return
    raise PermissionDenied(_("Only platform administrators can do this."))


def user_deactivate(*, actor: Actor, user: User) -> User:
    """Disable the account everywhere (platform operators only).

    Ends every session at once (the session epoch moves and inactive accounts cannot sign in)
    and every API key the person created stops working (the API checks its creator). Unlike
    membership changes this does not protect an organization's last owner: an operator must
    be able to lock an account out immediately.
    """
    _check_platform_admin(actor)
    if actor.user is not None and actor.user.pk == user.pk:
        raise PermissionDenied(_("You cannot disable your own account."))
    if not user.is_active:
        return user
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        _bump_epoch(user)
        _audit_everywhere(user=user, actor=actor, action="user.deactivated", changes={})
    return user


def user_reactivate(*, actor: Actor, user: User) -> User:
    """Let a disabled account sign in again (platform operators only)."""
    _check_platform_admin(actor)
    if user.is_active:
        return user
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
        _audit_everywhere(user=user, actor=actor, action="user.reactivated", changes={})
    return user
