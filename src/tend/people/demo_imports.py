"""Demo data for imports: a finished import of a HubSpot-style export, with its report and an
error file (one row with a broken email), so the imports page shows what a run leaves."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tend.core.demo import DemoContext
from tend.people.models import Contact
from tend.people.services.imports import (
    contact_import_configure,
    contact_import_create,
    contact_import_run,
)

HEADER = ("Record ID,First Name,Last Name,Email,Phone Number,Company Name,Lifecycle Stage,"
          "City,Country/Region")
NEW_ROWS = [
    "9001,Rania,Khalil,rania.khalil@example.org,+971 50 555 0101,Gulf Padel,lead,Dubai,AE",
    "9002,Tomás,Ortega,tomas.ortega@example.org,,Gulf Padel,customer,Abu Dhabi,AE",
    "9003,Mei,Lin,mei.lin@example.org,+44 7911 123456,,subscriber,London,GB",
    "9004,Yusuf,Demir,yusuf.demir@example.org,,Bosphorus Tours,opportunity,Istanbul,TR",
    "9005,Aisha,Bello,aisha.bello@example.org,+234 803 123 4567,,lead,Lagos,NG",
    "9006,Lars,Berg,lars.berg@example.org,,Fjord Cycling,customer,Bergen,NO",
    "9007,Priya,Nair,priya.nair@example.org,,,evangelist,Kochi,IN",
    "9008,Rania,Khalil,RANIA.KHALIL@example.org,,,,Dubai,AE",  # the same person again
    "9009,Broken,Address,not-an-address,,,lead,,",
]


def load_imports_demo(ctx: DemoContext) -> None:
    """Import a small file into the demo organization: new people, two known ones updated
    (matched by email), a duplicate row merged and a bad row reported."""
    known = list(Contact.objects.filter(tenant=ctx.tenant).exclude(primary_email="")
                 .order_by("created_at").values_list("primary_email", "first_name")[:2])
    rows = [*NEW_ROWS]
    for number, (email, first_name) in enumerate(known, start=1):
        rows.append(f"{9100 + number},{first_name},,{email},,,customer,,")
    text = "\n".join([HEADER, *rows]) + "\n"
    upload = SimpleUploadedFile("hubspot-contacts-export.csv", text.encode("utf-8"),
                                content_type="text/csv")
    imp = contact_import_create(tenant=ctx.tenant, actor=ctx.actor, file=upload)
    imp = contact_import_configure(tenant=ctx.tenant, actor=ctx.actor, imp=imp,
                                   mapping=imp.mapping, mode="FILL_BLANKS")
    contact_import_run(tenant=ctx.tenant, imp=imp)
