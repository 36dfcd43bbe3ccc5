"""`tend demo`: load demo data into an organization (creating the demo organization)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tend.core.demo import (
    DEMO_OWNER_EMAIL,
    DEMO_SLUG,
    demo_load,
    demo_login_save,
    demo_organization_create,
    demo_password,
)
from tend.core.errors import TendError
from tend.core.management.commands.createtenant import format_error
from tend.core.models import BuiltinRole, Membership, Tenant
from tend.core.tenancy import system_scope


class Command(BaseCommand):
    help = "Load demo data into an organization (creates the demo organization if needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="", metavar="SLUG",
                            help="Load into this existing organization, acting as its owner "
                                 "(default: create or fill the demo organization).")
        parser.add_argument("--password", default="",
                            help="Password of new demo accounts (default: generated).")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or demo_password()
        slug = options["tenant"] or DEMO_SLUG
        created = False
        try:
            with system_scope():
                tenant = Tenant.objects.filter(slug=slug).first()
                if tenant is None and options["tenant"]:
                    raise CommandError(f"No organization with the slug {slug!r}.")
                if tenant is None:
                    tenant, owner = demo_organization_create(password=password)
                    created = True
                else:
                    membership = (Membership.objects.filter(
                        tenant=tenant, role__key=BuiltinRole.OWNER, is_active=True,
                        user__is_active=True).select_related("user").order_by("created_at")
                        .first())
                    if membership is None:
                        raise CommandError(f"{slug} has no active owner to act as.")
                    owner = membership.user
            ctx = demo_load(tenant=tenant, owner=owner, password=password)
        except TendError as exc:
            raise CommandError(format_error(exc)) from None
        self.stdout.write(f"Loaded the demo into {tenant.name!r} (/o/{tenant.slug}/).")
        if created and owner.email == DEMO_OWNER_EMAIL:
            path = demo_login_save(email=owner.email, password=password)
            self.stdout.write(f"Sign in as {owner.email} with password {password} "
                              f"(saved in {path}).")
        staff = ", ".join(f"{u.email} ({role})" for role, u in ctx.staff.items())
        if staff:
            self.stdout.write(f"Demo staff: {staff}. Accounts made now use the password "
                              f"{password}.")
        for note in ctx.notes:
            self.stdout.write(note)
