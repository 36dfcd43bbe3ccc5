"""Account services (profile, password, platform-wide disabling) and organization settings."""

from __future__ import annotations

import pytest

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, User
from tend.core.selectors.access import memberships_for_user
from tend.core.services.accounts import (
    user_change_password,
    user_deactivate,
    user_reactivate,
    user_set_language,
    user_update_profile,
)
from tend.core.services.organization import tenant_update
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.tests.accounts_helpers import actor_of, add_member


def audit_actions(tenant):
    with tenant_scope(tenant):
        return list(AuditLog.objects.filter(tenant=tenant).order_by("seq")
                    .values_list("action", "changes"))


def test_update_profile_audits_field_names_in_each_organization(owner, tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    add_member(other, owner, "viewer")
    user_update_profile(user=owner, full_name="Olive O.", language="ar",
                        time_zone="Asia/Dubai")
    owner.refresh_from_db()
    assert (owner.full_name, owner.language, owner.time_zone) == (
        "Olive O.", "ar", "Asia/Dubai")
    expected = ("user.profile_updated", {"fields": ["full_name", "language", "time_zone"]})
    assert audit_actions(tenant)[-1] == expected
    assert audit_actions(other)[-1] == expected


def test_update_profile_validates(owner):
    with pytest.raises(ValidationFailed) as info:
        user_update_profile(user=owner, full_name="x" * 201, language="fr",
                            time_zone="Mars/Base")
    assert info.value.fields == {
        "full_name": ["Use at most 200 characters."],
        "language": ["Choose one of the offered languages."],
        "time_zone": ["Choose a time zone from the list."],
    }


def test_set_language(owner):
    user_set_language(user=owner, language="ar")
    assert User.objects.get(pk=owner.pk).language == "ar"
    with pytest.raises(ValidationFailed):
        user_set_language(user=owner, language="xx")


def test_change_password_bumps_session_epoch(owner, tenant):
    epoch = owner.session_epoch
    with pytest.raises(ValidationFailed) as wrong:
        user_change_password(user=owner, old_password="nope", new_password="another long one")
    assert wrong.value.fields == {"old_password": ["Your current password is wrong."]}
    with pytest.raises(ValidationFailed) as weak:
        user_change_password(user=owner, old_password="correct horse battery",
                             new_password="12345678")
    assert "This password is entirely numeric." in weak.value.fields["new_password"]
    user_change_password(user=owner, old_password="correct horse battery",
                         new_password="another long one")
    owner.refresh_from_db()
    assert owner.check_password("another long one")
    assert owner.session_epoch == epoch + 1
    assert audit_actions(tenant)[-1] == ("user.password_changed", {})


def test_deactivate_is_for_platform_admins_and_ends_everything(owner, tenant, make_user):
    admin = make_user("root@example.com", is_superuser=True, is_staff=True)
    with pytest.raises(PermissionDenied):
        user_deactivate(actor=actor_of(tenant, owner), user=admin)
    epoch = owner.session_epoch
    user_deactivate(actor=Actor(kind="user", user=admin), user=owner)
    owner.refresh_from_db()
    assert (owner.is_active, owner.session_epoch) == (False, epoch + 1)
    with system_scope():
        assert memberships_for_user(user=owner) == []
    assert audit_actions(tenant)[-1] == ("user.deactivated", {})
    with pytest.raises(PermissionDenied):
        user_deactivate(actor=Actor(kind="user", user=admin), user=admin)
    user_reactivate(actor=Actor.system(), user=owner)
    owner.refresh_from_db()
    assert owner.is_active is True
    assert audit_actions(tenant)[-1] == ("user.reactivated", {})


def update(tenant, actor, **kw):
    data = {"name": "Acme Golf", "time_zone": "Europe/Berlin", "default_language": "ar",
            "region": "de", "enabled_modules": []}
    data.update(kw)
    with tenant_scope(tenant):
        return tenant_update(tenant=tenant, actor=actor, **data)


def test_tenant_update(tenant, owner):
    update(tenant, actor_of(tenant, owner), locale="de-DE")
    tenant.refresh_from_db()
    assert (tenant.name, tenant.time_zone, tenant.default_language, tenant.region,
            tenant.locale, tenant.slug) == (
        "Acme Golf", "Europe/Berlin", "ar", "DE", "de-DE", "acme")
    action, changes = audit_actions(tenant)[-1]
    assert action == "organization.updated"
    assert changes == {
        "name": {"before": "Acme Club", "after": "Acme Golf"},
        "time_zone": {"before": "UTC", "after": "Europe/Berlin"},
        "default_language": {"before": "en", "after": "ar"},
        "region": {"before": "US", "after": "DE"},
        "locale": {"before": "en-US", "after": "de-DE"},
    }


def test_tenant_update_validates(tenant, owner):
    with pytest.raises(ValidationFailed) as info:
        update(tenant, actor_of(tenant, owner), name=" ", time_zone="Nowhere",
               default_language="de", region="ZZ", enabled_modules=["nope"])
    assert info.value.fields == {
        "name": ["This field is required."],
        "time_zone": ["Choose a time zone from the list."],
        "default_language": ["Choose one of the offered languages."],
        "region": ["Enter a two-letter country code, such as US or AE."],
        "enabled_modules": ["Unknown module: nope."],
    }


def test_tenant_update_needs_permission(tenant, make_user):
    viewer = make_user("v@example.com")
    add_member(tenant, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        update(tenant, actor_of(tenant, viewer))
    tenant.refresh_from_db()
    assert tenant.name == "Acme Club"


def test_always_on_modules_are_not_stored(tenant, owner):
    update(tenant, actor_of(tenant, owner), enabled_modules=["settings", "core"])
    tenant.refresh_from_db()
    assert tenant.enabled_modules == []
