"""`tend audit verify [--tenant SLUG]`: recompute the audit hash chains.

Exits 0 when every chain holds; 1 when one does not, naming the organization, the first
broken entry and why; 2 on bad usage (unknown organization).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tend.core.models import Tenant
from tend.core.services.audit import audit_verify_all
from tend.core.tenancy import system_scope


class Command(BaseCommand):
    help = "Audit log tools. `verify` recomputes each organization's hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify}")
        verify = sub.add_parser(
            "verify",
            help="Recompute the hash chains and name the first broken entry",
            description="Recompute each organization's audit hash chain. Exit code 0 when all "
            "chains hold, 1 when one is broken.",
        )
        verify.add_argument("--tenant", metavar="SLUG", help="Only this organization")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self.verify(options.get("tenant"))

    def verify(self, slug: str | None) -> None:
        with system_scope():
            tenant = None
            if slug:
                tenant = Tenant.objects.filter(slug=slug).first()
                if tenant is None:
                    raise CommandError(f"no organization with slug {slug!r}", returncode=2)
            reports = audit_verify_all(tenant=tenant)
        broken = [r for r in reports if not r.ok]
        for report in reports:
            if report.ok:
                self.stdout.write(
                    f"ok      {report.name}: {report.checked} entries, head #{report.head_seq} "
                    f"{report.head_hash}"
                )
            else:
                self.stdout.write(
                    f"BROKEN  {report.name}: entry #{report.first_broken_seq}: {report.reason}"
                )
        if broken:
            first = broken[0]
            more = f" ({len(broken) - 1} more broken)" if len(broken) > 1 else ""
            raise CommandError(
                f"audit chain broken: organization {first.name}, entry "
                f"#{first.first_broken_seq}: {first.reason}{more}",
                returncode=1,
            )
        self.stdout.write(f"all {len(reports)} audit chains hold")
