"""`tend createtenant NAME`: create an organization, optionally with its owner."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tend.core.actors import Actor
from tend.core.errors import TendError
from tend.core.models import User
from tend.core.modules import get_module
from tend.core.services.tenants import tenant_create, user_create
from tend.core.tenancy import system_scope


def format_error(exc: TendError) -> str:
    details = "; ".join(f"{field}: {' '.join(str(m) for m in messages)}"
                        for field, messages in exc.fields.items())
    return f"{exc.message} {details}".strip() if details else exc.message


class Command(BaseCommand):
    help = "Create an organization (and optionally its owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The organization's name.")
        parser.add_argument("--slug", default="", help="Its address, /o/<slug>/ (default: "
                                                       "made from the name).")
        parser.add_argument("--owner", default="", metavar="EMAIL",
                            help="Make this account the owner; created if it does not exist.")
        parser.add_argument("--owner-password", default="",
                            help="Password for a new owner account (default: generated and "
                                 "printed once).")
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--language", default="en", choices=["en", "ar"])
        parser.add_argument("--region", default="US", help="Default phone region (ISO 3166).")
        parser.add_argument("--modules", default="", help="Comma-separated module keys to "
                                                          "switch on.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["time_zone"] not in zoneinfo.available_timezones():
            raise CommandError(f"Unknown time zone {options['time_zone']!r}.")
        module_keys = [k.strip() for k in options["modules"].split(",") if k.strip()]
        unknown = [k for k in module_keys if get_module(k) is None]
        if unknown:
            raise CommandError(f"Unknown modules: {', '.join(unknown)}.")
        region = options["region"].upper()
        if len(region) != 2 or not region.isalpha():
            raise CommandError("--region takes a two-letter country code, such as US or AE.")
        with system_scope():
            try:
                owner, password = self._owner(options)
                tenant = tenant_create(
                    name=options["name"], slug=options["slug"], actor=Actor.system(),
                    owner=owner, time_zone=options["time_zone"],
                    default_language=options["language"], region=region,
                    enabled_modules=module_keys,
                )
            except TendError as exc:
                raise CommandError(format_error(exc)) from None
        self.stdout.write(f"Created organization {tenant.name!r} at /o/{tenant.slug}/.")
        if owner is not None:
            self.stdout.write(f"Owner: {owner.email}")
        if password:
            self.stdout.write(f"New account password (shown once): {password}")

    def _owner(self, options: dict[str, Any]) -> tuple[User | None, str]:
        email = options["owner"].strip().lower()
        if not email:
            return None, ""
        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None:
            return existing, ""
        from tend.core.demo import demo_password

        password = options["owner_password"] or demo_password()
        user = user_create(email=email, password=password)
        return user, "" if options["owner_password"] else password
