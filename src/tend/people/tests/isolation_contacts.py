"""Isolation entries for contacts, their identities and tags, and companies. The victim gets a
company and a contact (with an email, a phone and a tag) named with canaries."""

from tend.core.actors import Actor
from tend.core.tests.isolation import register, victim_builder
from tend.people.models import IdentityAlias
from tend.people.services.companies import company_create
from tend.people.services.contacts import contact_create


@victim_builder
def _contacts(v, c):
    system = Actor.system()
    v.people_company = company_create(tenant=v.tenant, actor=system, data={
        "name": c("company name"), "domain": f"{c('company domain')}.example"})
    v.people_contact = contact_create(
        tenant=v.tenant, actor=system,
        data={"first_name": c("contact first"), "last_name": c("contact last"),
              "company": v.people_company, "city": c("contact city")},
        emails=[f"{c('contact email')}@victim.example"], phones=["+971501239876"],
        tags=[v.tag])
    v.people_alias = IdentityAlias.objects.get(tenant=v.tenant, contact=v.people_contact,
                                               type="EMAIL")
    v.people_phone = IdentityAlias.objects.get(tenant=v.tenant, contact=v.people_contact,
                                               type="PHONE")


# Lists and creations act on the caller's own organization.
register("GET", "/api/v1/contacts", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/contacts", targets_victim=False,
         body=lambda v: {"first_name": "Suite", "emails": ["suite@example.net"]})
# Naming the victim's company or tag in a body is a field error (422) for anyone else.
register("PATCH", "/api/v1/contacts/{contact_id}",
         path=lambda v: {"contact_id": v.people_contact.pk},
         body=lambda v: {"company_id": str(v.people_company.pk), "city": "Elsewhere"})
register("GET", "/api/v1/companies", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/companies", targets_victim=False, body=lambda v: {"name": "Suite Co"})

contact = {"path": lambda v: {"contact_id": v.people_contact.pk}}
register("GET", "/api/v1/contacts/{contact_id}", **contact)
register("DELETE", "/api/v1/contacts/{contact_id}", **contact)
register("POST", "/api/v1/contacts/{contact_id}/restore", **contact)
register("POST", "/api/v1/contacts/{contact_id}/aliases", **contact,
         body=lambda v: {"type": "EMAIL", "value": "second@example.net"})
register("GET", "/api/v1/contacts/{contact_id}/tags", **contact)
register("PUT", "/api/v1/contacts/{contact_id}/tags", **contact,
         body=lambda v: {"tag_ids": [str(v.tag.pk)]})
register("POST", "/api/v1/contacts/{contact_id}/tags", **contact,
         body=lambda v: {"tag_ids": [str(v.tag.pk)]})
register("DELETE", "/api/v1/contacts/{contact_id}/tags/{tag_id}",
         path=lambda v: {"contact_id": v.people_contact.pk, "tag_id": v.tag.pk})

register("DELETE", "/api/v1/contacts/{contact_id}/aliases/{alias_id}",
         path=lambda v: {"contact_id": v.people_contact.pk, "alias_id": v.people_alias.pk})
register("POST", "/api/v1/contacts/{contact_id}/aliases/{alias_id}/primary",
         path=lambda v: {"contact_id": v.people_contact.pk, "alias_id": v.people_phone.pk})
register("POST", "/api/v1/contacts/{contact_id}/aliases/{alias_id}/verify",
         path=lambda v: {"contact_id": v.people_contact.pk, "alias_id": v.people_alias.pk})

company = {"path": lambda v: {"company_id": v.people_company.pk}}
register("GET", "/api/v1/companies/{company_id}", **company)
register("PATCH", "/api/v1/companies/{company_id}", **company, body=lambda v: {"city": "Muscat"})
register("DELETE", "/api/v1/companies/{company_id}", **company)
register("GET", "/api/v1/companies/{company_id}/contacts", **company)
