"""Test data for the people module. Factories write through the ORM for speed; tests of a
service call the service itself."""

from __future__ import annotations

import factory

from tend.people.models import Company, Contact, IdentityAlias


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    """Pass `tenant=`; run inside that tenant's scope."""

    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    display_name = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}".strip())


class EmailAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdentityAlias

    type = "EMAIL"
    value = factory.Sequence(lambda n: f"person{n}@example.com")
    is_primary = True
