import pytest
from django.test import Client


@pytest.mark.django_db
def test_admin_is_for_superusers_only_and_reads_across_organizations(make_user, tenant):
    staff = make_user("staff@example.com", is_staff=True)
    root = make_user("root@example.com", is_staff=True, is_superuser=True)

    client = Client()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 302

    client.force_login(root)
    assert client.get("/admin/").status_code == 200
    response = client.get("/admin/core/auditlog/")
    assert response.status_code == 200
    assert b"organization.created" in response.content
    response = client.get("/admin/core/membership/")
    assert response.status_code == 200
    assert b"Olive Owner" in response.content
    assert client.get("/admin/core/tenant/").status_code == 200
    assert b"Acme Club" in client.get("/admin/core/tenant/").content
