"""Every organization gets its rule-configuration token row (new ones get it when they are
created; reading the token no longer makes it)."""

import uuid

from django.db import migrations


def create_missing(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":  # the rows of every organization, past the RLS wall
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.rls_bypass', 'on', true)")
    Tenant = apps.get_model("core", "Tenant")
    FieldsVersion = apps.get_model("rules", "FieldsVersion")
    have = set(FieldsVersion._base_manager.values_list("tenant_id", flat=True))
    FieldsVersion._base_manager.bulk_create(
        [FieldsVersion(tenant_id=pk, token=uuid.uuid4().hex)
         for pk in Tenant._base_manager.values_list("pk", flat=True) if pk not in have],
        batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("rules", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_missing, migrations.RunPython.noop),
    ]
