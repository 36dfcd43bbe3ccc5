"""`tend createuser EMAIL`: create a staff account, optionally adding it to an organization."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tend.core.actors import Actor
from tend.core.demo import demo_password
from tend.core.errors import TendError
from tend.core.management.commands.createtenant import format_error
from tend.core.models import Tenant, User
from tend.core.services.provisioning import member_grant
from tend.core.services.tenants import user_create
from tend.core.tenancy import system_scope, tenant_scope


class Command(BaseCommand):
    help = "Create a staff account, optionally adding it to an organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="Full name.")
        parser.add_argument("--password", default="",
                            help="Password (default: generated and printed once).")
        parser.add_argument("--language", default="en", choices=["en", "ar"])
        parser.add_argument("--tenant", default="", metavar="SLUG",
                            help="Add the account to this organization (an existing account "
                                 "may be added too).")
        parser.add_argument("--role", default="viewer",
                            help="Role key in that organization: owner, admin, manager, agent, "
                                 "affiliate, viewer, or a custom role's key (default viewer).")
        parser.add_argument("--superuser", action="store_true",
                            help="Platform operator: may open /admin/.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        with system_scope():
            tenant = None
            if options["tenant"]:
                tenant = Tenant.objects.filter(slug=options["tenant"]).first()
                if tenant is None:
                    raise CommandError(f"No organization with the slug {options['tenant']!r}.")
            user = User.objects.filter(email__iexact=email).first()
            if user is not None and tenant is None:
                raise CommandError(f"An account with {email} exists already.")
            password = ""
            with transaction.atomic():
                if user is None:
                    password = options["password"] or demo_password()
                    if options["password"]:
                        self._validate(password, email, options["name"])
                    try:
                        user = user_create(email=email, password=password,
                                           full_name=options["name"],
                                           language=options["language"],
                                           is_staff=options["superuser"],
                                           is_superuser=options["superuser"])
                    except TendError as exc:
                        raise CommandError(format_error(exc)) from None
                    self.stdout.write(f"Created account {user.email}.")
                if tenant is not None:
                    with tenant_scope(tenant):
                        try:
                            member_grant(tenant=tenant, actor=Actor.system(), user=user,
                                         role_key=options["role"])
                        except TendError as exc:
                            raise CommandError(format_error(exc)) from None
                    self.stdout.write(f"Added {user.email} to {tenant.slug} as "
                                      f"{options['role']}.")
        if password and not options["password"]:
            self.stdout.write(f"Password (shown once): {password}")

    def _validate(self, password: str, email: str, name: str) -> None:
        try:
            validate_password(password, User(email=email, full_name=name))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
