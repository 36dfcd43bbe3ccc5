"""The operator commands: createtenant, createuser, demo, and `tend --help`."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tend import cli
from tend.core import demo as demo_module
from tend.core.models import (
    AuditLog,
    CustomFieldDefinition,
    Job,
    Membership,
    Tag,
    Tenant,
    User,
)
from tend.core.services.audit import audit_verify_chain
from tend.core.tenancy import system_scope, tenant_scope


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createtenant_with_a_new_owner_prints_its_password_once(db):
    output = run("createtenant", "Harbor Golf", "--owner", "Pat@Example.com",
                 "--time-zone", "Asia/Dubai", "--region", "ae")

    password = re.search(r"New account password \(shown once\): (\S+)", output).group(1)
    with system_scope():
        tenant = Tenant.objects.get(slug="harbor-golf")
        owner = User.objects.get(email="pat@example.com")
        membership = Membership.objects.select_related("role").get(tenant=tenant)
    assert (tenant.name, tenant.time_zone, tenant.region) == ("Harbor Golf", "Asia/Dubai", "AE")
    assert (membership.user, membership.role.key) == (owner, "owner")
    assert owner.check_password(password)
    assert "Created organization 'Harbor Golf' at /o/harbor-golf/." in output


def test_createtenant_reports_field_errors(db):
    with pytest.raises(CommandError, match=r"slug: This address is reserved\."):
        run("createtenant", "Admin", "--slug", "admin")
    with pytest.raises(CommandError, match="Unknown time zone 'Mars/Base'"):
        run("createtenant", "Mars Club", "--time-zone", "Mars/Base")
    with system_scope():
        assert Tenant.objects.count() == 0


def test_createuser_adds_an_account_to_an_organization_with_a_role(tenant):
    output = run("createuser", "ann@example.com", "--name", "Ann Agent", "--tenant", "acme",
                 "--role", "agent", "--password", "a sturdy passphrase 42")

    assert output.splitlines() == ["Created account ann@example.com.",
                                   "Added ann@example.com to acme as agent."]
    with tenant_scope(tenant):
        membership = Membership.objects.select_related("role", "user").get(
            user__email="ann@example.com")
        entry = AuditLog.objects.get(action="member.added")
    assert (membership.role.key, membership.user.full_name) == ("agent", "Ann Agent")
    assert membership.user.check_password("a sturdy passphrase 42")
    assert entry.changes["user"] == str(membership.user.pk)


def test_createuser_refusals(tenant, owner):
    with pytest.raises(CommandError, match="exists already"):
        run("createuser", owner.email)
    with pytest.raises(CommandError, match="This person is a member already"):
        run("createuser", owner.email, "--tenant", "acme", "--role", "viewer")
    with pytest.raises(CommandError, match="No such role here"):
        run("createuser", "new@example.com", "--tenant", "acme", "--role", "captain")
    with pytest.raises(CommandError, match="too common"):
        run("createuser", "weak@example.com", "--password", "password")
    with pytest.raises(CommandError, match="No organization"):
        run("createuser", "x@example.com", "--tenant", "nowhere")
    with system_scope():
        assert not User.objects.filter(email__in=["new@example.com", "weak@example.com",
                                                  "x@example.com"]).exists()


def test_demo_creates_the_demo_organization_once(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    output = run("demo", "--password", "demo pass 123")

    with system_scope():
        tenant = Tenant.objects.get(slug="demo")
    with tenant_scope(tenant):
        roles = dict(Membership.objects.values_list("user__email", "role__key"))
        fields = sorted(CustomFieldDefinition.objects.values_list("key", flat=True))
        tags = sorted(Tag.objects.values_list("name", flat=True))
        job = Job.objects.get()
        actions = list(AuditLog.objects.order_by("seq").values_list("action", flat=True))
        report = audit_verify_chain(tenant=tenant)
    assert tenant.name == "Demo Community"
    assert roles == {
        "owner@demo.tend.local": "owner", "admin@demo.tend.local": "admin",
        "manager@demo.tend.local": "manager", "agent@demo.tend.local": "agent",
        "viewer@demo.tend.local": "viewer",
    }
    assert fields == ["birthday", "membership_level", "newsletter"]
    assert tags == ["Donor", "Needs follow-up", "New member", "Volunteer"]
    assert (job.status, job.result) == ("succeeded", {"primes": 30, "largest_checked": 120})
    assert actions[0] == "organization.created" and actions[-1] == "demo.loaded"
    assert {"member.added", "member.role_changed", "customfield.created", "tag.created",
            "job.created", "job.succeeded"} <= set(actions)
    assert report.ok
    assert (tmp_path / "demo-login.txt").read_text() == "owner@demo.tend.local\ndemo pass 123\n"
    assert "Sign in as owner@demo.tend.local with password demo pass 123" in output

    with pytest.raises(CommandError, match="already loaded into demo"):
        run("demo")


def test_demo_runs_registered_loaders_in_order(tenant, owner, monkeypatch):
    monkeypatch.setattr(demo_module, "_loaders", [])
    seen = []
    demo_module.register_demo(lambda ctx: seen.append(("late", ctx.tenant.slug)), order=50)
    demo_module.register_demo(lambda ctx: seen.append(("early", ctx.actor.label)), order=5)

    run("demo", "--tenant", "acme")

    assert seen == [("early", "owner@example.com"), ("late", "acme")]


def test_cli_help_lists_every_command(capsys):
    cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("serve", "worker", "migrate", "createtenant", "createuser", "demo", "audit",
                    "backup", "restore", "manage"):
        assert re.search(rf"^  {command}\s+\S", out, re.MULTILINE), command
