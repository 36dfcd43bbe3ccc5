"""The walls between organizations: the model walk (every Tend model) and, on PostgreSQL,
row-level security under raw SQL."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models.functions import Lower
from django.test.utils import isolate_apps

from tend.core.checks import check_tenant_constraints, tenancy_problems, tend_models
from tend.core.db_walls import tenant_tables
from tend.core.models import Role, Tenant, TenantScopedManager
from tend.core.tenancy import system_scope, tenant_scope

# --- the model walk --------------------------------------------------------------------------


def test_every_tend_model_is_tenant_owned_or_declared_global():
    assert [str(p) for p in tenancy_problems()] == []


def test_the_walk_covers_the_core_models():
    labels = {m._meta.label for m in tend_models()}
    assert {"core.Role", "core.Membership", "core.AuditLog", "core.CustomFieldDefinition",
            "core.Tag", "core.ApiKey", "core.Tenant", "core.User"} <= labels


def test_manage_check_passes():
    call_command("check", fail_level="ERROR")
    assert check_tenant_constraints() == []


@isolate_apps("tend.core")
def test_walk_flags_a_model_without_tenant():
    class Widget(models.Model):  # noqa: DJ008
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "core"

    assert [(p.id, p.message) for p in tenancy_problems([Widget])] == [
        ("tend.E003", "has no `tenant` field; inherit TenantModel or declare it global"),
    ]


@isolate_apps("tend.core")
def test_walk_flags_unique_constraints_and_fields_that_omit_tenant():
    class Gadget(models.Model):  # noqa: DJ008
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
        code = models.CharField(max_length=10, unique=True)
        name = models.CharField(max_length=10)
        label = models.CharField(max_length=10)

        objects = TenantScopedManager()

        class Meta:
            app_label = "core"
            unique_together = [("name", "label")]
            constraints = [
                models.UniqueConstraint(Lower("name"), name="gadget_name_ci"),
                models.UniqueConstraint(Lower("label"), "tenant", name="gadget_label_ci"),
                models.UniqueConstraint(fields=["tenant", "name"], name="gadget_name"),
            ]

    assert sorted((p.id, p.message) for p in tenancy_problems([Gadget])) == [
        ("tend.E001", "unique constraint gadget_name_ci omits tenant"),
        ("tend.E001", "unique_together ('name', 'label') omits tenant"),
        ("tend.E002", "field `code` is unique across tenants"),
    ]


@isolate_apps("tend.core")
def test_walk_flags_nullable_tenant_open_managers_and_plain_many_to_many():
    class Gizmo(models.Model):  # noqa: DJ008
        tenant = models.ForeignKey(Tenant, null=True, on_delete=models.CASCADE, related_name="+")
        roles = models.ManyToManyField(Role, related_name="+")

        objects = models.Manager()

        class Meta:
            app_label = "core"

    assert sorted((p.id, p.message) for p in tenancy_problems([Gizmo])) == [
        ("tend.E005", "`tenant` may be null"),
        ("tend.E006", "manager `objects` does not fail closed outside a tenant scope"),
        ("tend.E007", "many-to-many `roles` stores its rows without a tenant; give it a "
                      "`through` model that inherits TenantModel"),
    ]


# --- row-level security on PostgreSQL ---------------------------------------------------------

rls = pytest.mark.skipif(
    not (settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
         and settings.TEND_DB_RLS),
    reason="row-level security exists only on PostgreSQL with TEND_DB_RLS=1",
)


def _scalar(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def _tenant_ids(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT tenant_id::text FROM {table}")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def two_tenants(make_tenant):
    return make_tenant("Alpha", slug="alpha"), make_tenant("Beta", slug="beta")


@rls
@pytest.mark.django_db
def test_every_tenant_table_has_forced_rls_and_the_policy():
    tables = tenant_tables()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relrowsecurity AND c.relforcerowsecurity "
            "AND p.polname = 'tend_tenant_isolation'"
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert "core_role" in tables
    assert "core_auditlog" in tables
    assert sorted(set(tables) - protected) == []


@rls
def test_raw_sql_without_a_tenant_sees_no_rows(two_tenants):
    with system_scope():
        assert Role.objects.count() == 12
    assert _scalar("SELECT count(*) FROM core_role") == 0
    assert _scalar("SELECT count(*) FROM core_auditlog") == 0


@rls
def test_raw_sql_in_a_tenant_scope_sees_only_that_tenant(two_tenants):
    alpha, beta = two_tenants
    with tenant_scope(alpha):
        assert _scalar("SELECT count(*) FROM core_role") == 6
        assert _tenant_ids("core_role") == {str(alpha.pk)}
        assert _tenant_ids("core_auditlog") == {str(alpha.pk)}
        # even when asking for the other tenant by id
        assert _scalar("SELECT count(*) FROM core_role WHERE tenant_id = %s", [beta.pk]) == 0


@rls
def test_insert_for_another_tenant_is_refused(two_tenants):
    alpha, beta = two_tenants
    with tenant_scope(alpha), pytest.raises(DatabaseError, match="row-level security"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_role (id, tenant_id, key, name, description, is_builtin, "
            "permissions, created_at, updated_at) VALUES (gen_random_uuid(), %s, 'x', 'X', "
            "'', false, '[]', now(), now())",
            [beta.pk],
        )


@rls
def test_orm_create_for_another_tenant_is_refused(two_tenants):
    alpha, beta = two_tenants
    with tenant_scope(alpha), pytest.raises(DatabaseError, match="row-level security"), \
            transaction.atomic():
        Role.objects.create(tenant=beta, key="sneaky", name="Sneaky")


@rls
def test_update_and_delete_of_another_tenants_rows_touch_nothing(two_tenants):
    alpha, beta = two_tenants
    with tenant_scope(alpha), connection.cursor() as cursor:
        cursor.execute("UPDATE core_role SET name = 'x' WHERE tenant_id = %s", [beta.pk])
        updated = cursor.rowcount
        cursor.execute("DELETE FROM core_membership WHERE tenant_id = %s", [beta.pk])
        deleted = cursor.rowcount
    assert (updated, deleted) == (0, 0)
    with tenant_scope(beta):
        assert sorted(Role.objects.values_list("name", flat=True))[:2] == ["Admin", "Affiliate"]


@rls
def test_system_scope_sees_every_tenant(two_tenants):
    alpha, beta = two_tenants
    with system_scope():
        assert _scalar("SELECT count(*) FROM core_role") == 12
        assert _tenant_ids("core_role") == {str(alpha.pk), str(beta.pk)}


@rls
def test_leaving_scopes_restores_the_enclosing_context(two_tenants):
    alpha, beta = two_tenants
    with tenant_scope(alpha):
        with tenant_scope(beta):
            assert _tenant_ids("core_role") == {str(beta.pk)}
        assert _tenant_ids("core_role") == {str(alpha.pk)}
        with system_scope():
            assert _scalar("SELECT count(*) FROM core_role") == 12
        assert _tenant_ids("core_role") == {str(alpha.pk)}
    assert _scalar("SELECT current_setting('app.tenant_id')") == ""
    assert _scalar("SELECT current_setting('app.rls_bypass')") == "off"


@rls
def test_a_database_error_inside_a_scope_is_not_masked_and_the_context_recovers(two_tenants):
    alpha, beta = two_tenants
    with tenant_scope(alpha):
        # the restore on leaving beta's scope cannot run in the failed transaction; the
        # original error still surfaces, and the rollback brings alpha's context back
        with pytest.raises(IntegrityError), transaction.atomic(), tenant_scope(beta):
            Role.objects.create(tenant=beta, key="owner", name="Twice")
        assert _tenant_ids("core_role") == {str(alpha.pk)}


@rls
def test_a_connection_opened_inside_a_scope_carries_it(transactional_db, make_tenant):
    alpha = make_tenant("Alpha", slug="alpha")
    make_tenant("Beta", slug="beta")
    with tenant_scope(alpha):
        connection.close()  # e.g. close_old_connections between requests
        assert _tenant_ids("core_role") == {str(alpha.pk)}
    connection.close()
    assert _scalar("SELECT count(*) FROM core_role") == 0


@rls
def test_a_request_leaves_the_connection_without_a_tenant(client, make_tenant, owner):
    from django.urls import reverse

    tenant = make_tenant("Alpha", slug="alpha", owner=owner)
    client.force_login(owner)
    response = client.get(reverse("core:tags-list", kwargs={"org_slug": tenant.slug}))
    assert response.status_code == 200
    assert _scalar("SELECT current_setting('app.tenant_id')") == ""
    assert _scalar("SELECT count(*) FROM core_role") == 0
