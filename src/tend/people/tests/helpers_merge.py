"""Shared setup for the duplicates and merge tests: people and candidate pairs via the ORM."""

from tend.core.tenancy import tenant_scope
from tend.people.models import Contact, DuplicateCandidate, IdentityAlias


def make(tenant, first, last="Mitchell", email="", city="London"):
    with tenant_scope(tenant):
        contact = Contact.objects.create(tenant=tenant, first_name=first, last_name=last,
                                         display_name=f"{first} {last}", city=city,
                                         primary_email=email)
        if email:
            IdentityAlias.objects.create(tenant=tenant, contact=contact, type="EMAIL",
                                         value=email, is_primary=True)
        return contact


def candidate(tenant, a, b, score=90, matched_fields=("name",)):
    with tenant_scope(tenant):
        x, y = sorted([a.pk, b.pk])
        return DuplicateCandidate.objects.create(tenant=tenant, contact_a_id=x, contact_b_id=y,
                                                 match_type="NAME", score=score,
                                                 matched_fields=list(matched_fields))
