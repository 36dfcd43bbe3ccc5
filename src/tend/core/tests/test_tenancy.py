import pytest
from django_scopes.exceptions import ScopeError

from tend.core.models import AuditLog, Membership, Role
from tend.core.tenancy import tenant_scope


def test_tenant_create_makes_builtin_roles_owner_and_audit_entry(tenant, owner):
    with tenant_scope(tenant):
        assert sorted(Role.objects.values_list("key", flat=True)) == [
            "admin", "affiliate", "agent", "manager", "owner", "viewer"
        ]
        membership = Membership.objects.get(user=owner)
        assert membership.role.key == "owner"
        entry = AuditLog.objects.get()
        assert (entry.seq, entry.action) == (1, "organization.created")


def test_query_outside_scope_raises(tenant):
    with pytest.raises(ScopeError):
        list(Role.objects.all())


def test_scope_sees_only_own_rows(make_tenant, tenant):
    other = make_tenant("Other Club", slug="other")
    with tenant_scope(other):
        assert Role.objects.count() == 6
        assert not Role.objects.filter(tenant=tenant).exists()
