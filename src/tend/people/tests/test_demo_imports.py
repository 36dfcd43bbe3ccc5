import random

from tend.core.actors import Actor
from tend.core.demo import DemoContext, demo_loaders, load_core_demo
from tend.people.choices import ImportStatus
from tend.people.demo_contacts import load_contacts_demo
from tend.people.demo_imports import load_imports_demo
from tend.people.models import ContactImport, IdentityAlias
from tend.people.services.imports import error_rows_csv


def test_loader_runs_after_the_contacts():
    loaders = demo_loaders()
    assert loaders.index(load_contacts_demo) < loaders.index(load_imports_demo)


def test_demo_import_is_finished_with_a_report_and_an_error_file(scoped, owner):
    ctx = DemoContext(tenant=scoped, owner=owner, actor=Actor.system(), password=None,
                      rng=random.Random(3))
    load_core_demo(ctx)
    load_contacts_demo(ctx)
    load_imports_demo(ctx)
    imp = ContactImport.objects.get()
    assert imp.status == ImportStatus.SUCCEEDED
    assert imp.counts["created"] == 7
    assert imp.counts["merged"] == 1
    assert imp.counts["errors"] == 1
    assert imp.counts["updated"] + imp.counts["unchanged"] == 2
    rania = IdentityAlias.objects.get(value="rania.khalil@example.org").contact
    assert rania.city == "Dubai"
    assert "not-an-address" in b"".join(error_rows_csv(imp)).decode("utf-8-sig")
