import random

from tend.core.actors import Actor
from tend.core.demo import DemoContext, demo_loaders, load_core_demo
from tend.people.demo_contacts import load_contacts_demo
from tend.people.models import Company, Contact, ContactTag


def test_loader_is_registered_after_the_core():
    loaders = demo_loaders()
    assert loaders.index(load_core_demo) < loaders.index(load_contacts_demo)


def test_loads_about_sixty_people(scoped, owner):
    ctx = DemoContext(tenant=scoped, owner=owner, actor=Actor.system(), password=None,
                      rng=random.Random(3))
    load_core_demo(ctx)
    load_contacts_demo(ctx)
    assert Company.objects.count() == 8
    assert Contact.objects.count() == 60
    assert Contact.objects.filter(display_name="ليلى الحداد").count() == 1
    assert Contact.objects.exclude(primary_email="").count() > 40
    assert Contact.objects.exclude(primary_phone="").count() > 30
    assert ContactTag.objects.count() > 20
    levels = {c.custom.get("membership_level") for c in Contact.objects.all()}
    assert levels == {None, "newcomer", "regular", "mentor"}
    owners = set(Contact.objects.exclude(owner=None).values_list("owner", flat=True))
    assert owners == {owner.pk, *(u.pk for k, u in ctx.staff.items() if k != "viewer")}
