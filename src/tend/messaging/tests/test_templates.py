"""Templates: the sandboxed renderer, drafts and immutable published versions, the language
fallback chain, sending through the outbox, the system templates, the pages and the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tend.core.actors import Actor
from tend.core.errors import Conflict, ValidationFailed
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.messaging import rendering
from tend.messaging.choices import MessageStatus, TemplateStatus
from tend.messaging.models import Message, Template
from tend.messaging.services.templates import (
    message_send_template,
    template_archive,
    template_create,
    template_preview,
    template_publish,
    template_resolve,
    template_update,
)
from tend.people.models import Contact

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def _make(tenant, key="greeting", language="en", body="Hi {{ contact.first_name }}",
          channel="WEB", publish=True, **kw):
    template = template_create(tenant=tenant, actor=SYSTEM, key=key, channel=channel,
                               language=language, body=body, **kw)
    if publish:
        template_publish(tenant=tenant, actor=SYSTEM, template=template)
    return template


# --- the renderer ------------------------------------------------------------------------


def test_render_fills_allowlisted_values_and_defaults():
    values = {"contact": {"first_name": "Amal"}, "organization": {"name": "Acme"}}
    text = 'Hi {{contact.first_name}} / {{ contact.last_name|default:"friend" }} at ' \
           "{{ organization.name }}"
    assert rendering.render(text, values) == "Hi Amal / friend at Acme"


@pytest.mark.parametrize("text", [
    "{% if x %}no{% endif %}",
    "{{ contact.__class__ }}x{{ x",
    "{{ contact.first_name.upper() }}",
    "{{ contact }}",
    "{# comment #}",
    "{{ contact.first_name|safe }}",
])
def test_parse_refuses_anything_but_plain_variables(text):
    with pytest.raises(rendering.TemplateSyntaxError):
        rendering.parse(text)


def test_context_has_only_allowlisted_fields(scoped):
    contact = Contact.objects.create(tenant=scoped, first_name="Amal", custom={"secret": "x"})
    values = rendering.context_for(tenant=scoped, contact=contact,
                                   extra={"event": {"title": "Retreat", "evil": "no"},
                                          "contact": {"first_name": "Forged"},
                                          "unregistered": {"a": "b"}})
    assert values["contact"]["first_name"] == "Amal"
    assert "custom" not in values["contact"]
    assert values["event"] == {"title": "Retreat"}
    assert "unregistered" not in values


# --- the services ------------------------------------------------------------------------


def test_unknown_variables_are_rejected_naming_them(scoped):
    with pytest.raises(ValidationFailed) as exc:
        template_create(tenant=scoped, actor=SYSTEM, key="bad", channel="WEB", language="en",
                        body="Hi {{ contact.nickname }} {{ secrets.token }}")
    message = exc.value.fields["body"][0]
    assert "contact.nickname" in message and "secrets.token" in message
    assert not Template.objects.filter(tenant=scoped, key="bad").exists()


def test_published_versions_are_immutable_and_edits_make_the_next_draft(scoped):
    v1 = _make(scoped, body="Hello {{ contact.first_name }}")
    assert v1.status == TemplateStatus.PUBLISHED and v1.version == 1
    assert v1.variables == ["contact.first_name"]
    draft = template_update(tenant=scoped, actor=SYSTEM, template=v1,
                            values={"body": "Hi there {{ contact.first_name }}"})
    assert draft.pk != v1.pk and draft.version == 2 and draft.status == TemplateStatus.DRAFT
    v1.refresh_from_db()
    assert v1.body == "Hello {{ contact.first_name }}"
    # A second change of the published version goes to the same draft.
    again = template_update(tenant=scoped, actor=SYSTEM, template=v1, values={"name": "G"})
    assert again.pk == draft.pk and again.body == "Hi there {{ contact.first_name }}"
    template_publish(tenant=scoped, actor=SYSTEM, template=again)
    v1.refresh_from_db()
    assert v1.status == TemplateStatus.ARCHIVED
    with pytest.raises(Conflict):
        template_update(tenant=scoped, actor=SYSTEM, template=v1, values={"body": "x"})
    with pytest.raises(Conflict):
        template_publish(tenant=scoped, actor=SYSTEM, template=again)


def test_duplicate_key_channel_language_is_a_field_error(scoped):
    _make(scoped)
    with pytest.raises(ValidationFailed) as exc:
        _make(scoped)
    assert "key" in exc.value.fields


def test_resolve_follows_contact_then_organization_language_then_any(scoped):
    en = _make(scoped, language="en", body="Hello")
    ar = _make(scoped, language="ar", body="مرحبا")
    fr_only = _make(scoped, key="fr_only", language="fr", body="Bonjour")
    arab = Contact.objects.create(tenant=scoped, first_name="Salim", language="ar-AE")
    german = Contact.objects.create(tenant=scoped, first_name="Hans", language="de")
    assert template_resolve(tenant=scoped, key="greeting", channel="WEB", contact=arab) == ar
    assert template_resolve(tenant=scoped, key="greeting", channel="WEB", contact=german) == en
    assert template_resolve(tenant=scoped, key="fr_only", channel="WEB",
                            contact=german) == fr_only
    assert template_resolve(tenant=scoped, key="greeting", channel="SMS", contact=arab) is None
    template_archive(tenant=scoped, actor=SYSTEM, template=ar)
    assert template_resolve(tenant=scoped, key="greeting", channel="WEB", contact=arab) == en


def test_preview_renders_for_a_contact(scoped):
    template = _make(scoped, language="ar", body="مرحبا {{ contact.first_name }} من "
                                                 "{{ organization.name }}")
    contact = Contact.objects.create(tenant=scoped, first_name="سالم", language="ar")
    out = template_preview(tenant=scoped, actor=SYSTEM, template=template, contact=contact)
    assert out["body"] == "مرحبا سالم من Acme Club"
    assert out["variables"] == {"contact.first_name": "سالم", "organization.name": "Acme Club"}


def test_send_template_queues_one_message_per_dedupe_key(scoped):
    template = _make(scoped, key="reminder", body="See you at {{ event.title }}, "
                                                  "{{ contact.first_name }}")
    contact = Contact.objects.create(tenant=scoped, first_name="Amal", language="en")
    message, created = message_send_template(
        tenant=scoped, actor=SYSTEM, contact=contact, key="reminder", channel="WEB",
        extra={"event": {"title": "the retreat"}}, purpose="TRANSACTIONAL",
        dedupe_key="event:1:amal")
    again, created_again = message_send_template(
        tenant=scoped, actor=SYSTEM, contact=contact, key="reminder", channel="WEB",
        purpose="TRANSACTIONAL", dedupe_key="event:1:amal")
    assert created and not created_again and again.pk == message.pk
    assert message.body == "See you at the retreat, Amal"
    assert message.template_id == template.pk and message.status == MessageStatus.QUEUED
    assert message.template_variables == {"event.title": "the retreat",
                                          "contact.first_name": "Amal"}
    assert Message.objects.filter(tenant=scoped).count() == 1
    with pytest.raises(ValidationFailed) as exc:
        message_send_template(tenant=scoped, actor=SYSTEM, contact=contact, key="missing",
                              channel="WEB", purpose="TRANSACTIONAL")
    assert "key" in exc.value.fields


def test_new_organizations_get_english_and_arabic_system_templates(scoped):
    rows = Template.objects.filter(tenant=scoped, status=TemplateStatus.PUBLISHED)
    keys = {(t.key, t.channel, t.language) for t in rows}
    for key in ("welcome", "telegram_link", "appointment_reminder"):
        for language in ("en", "ar"):
            assert (key, "WHATSAPP", language) in keys
            assert (key, "WEB", language) in keys
    email = rows.get(key="welcome", channel="EMAIL", language="ar")
    assert email.subject == "مرحبًا بك في {{ organization.name }}"
    contact = Contact.objects.create(tenant=scoped, first_name="", language="ar")
    resolved = template_resolve(tenant=scoped, key="welcome", channel="WEB", contact=contact)
    out = template_preview(tenant=scoped, actor=SYSTEM, template=resolved, contact=contact)
    assert out["body"].startswith("مرحبًا بك، أهلًا بك في Acme Club")


def test_agents_cannot_publish(scoped, make_user):
    agent = make_user("agent@example.com")
    membership = add_member(scoped, agent, "agent")
    from tend.core.selectors.access import actor_for_membership

    actor = actor_for_membership(membership)
    draft = template_create(tenant=scoped, actor=actor, key="mine", channel="WEB",
                            language="en", body="Hi")
    from tend.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        template_publish(tenant=scoped, actor=actor, template=draft)


# --- pages -------------------------------------------------------------------------------


def _url(name, **kw):
    return reverse(f"messaging:{name}", kwargs={"org_slug": "acme", **kw})


def test_pages_create_error_publish_and_preview(tenant, owner):
    client = signed_in(owner)
    listing = client.get(_url("templates"))
    assert listing.status_code == 200 and "appointment_reminder" in listing.content.decode()
    bad = client.post(_url("templates-new"), {
        "key": "promo", "channel": "WEB", "language": "en", "body": "Hi {{ contact.age }}",
        "category": "MARKETING"})
    assert bad.status_code == 422 and "contact.age" in bad.content.decode()
    ok = client.post(_url("templates-new"), {
        "key": "promo", "channel": "WEB", "language": "en",
        "body": "Hi {{ contact.first_name }}", "category": "MARKETING"})
    assert ok.status_code == 302
    with tenant_scope(tenant):
        template = Template.objects.get(tenant=tenant, key="promo")
        contact = Contact.objects.create(tenant=tenant, first_name="Amal",
                                         display_name="Amal")
    assert client.post(_url("templates-publish", template_id=template.pk)).status_code == 302
    detail = client.get(_url("templates-detail", template_id=template.pk)).content.decode()
    assert "Published" in detail and "Amal" in detail
    preview = client.get(_url("templates-preview", template_id=template.pk),
                         {"contact": str(contact.pk)}, HTTP_HX_REQUEST="true")
    assert '<p id="preview-body" style="white-space: pre-wrap">Hi Amal</p>' in \
        preview.content.decode()


# --- API ---------------------------------------------------------------------------------


def test_api_crud_publish_preview(tenant, owner):
    client = signed_in(owner, tenant)
    bad = client.post("/api/v1/templates", {"key": "x", "channel": "WEB", "language": "en",
                                            "body": "{{ contact.password }}"},
                      content_type="application/json")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body"
    assert "contact.password" in bad.json()["errors"][0]["message"]
    created = client.post("/api/v1/templates", {
        "key": "hello", "channel": "WEB", "language": "ar",
        "body": "أهلا {{ contact.first_name }}"}, content_type="application/json")
    assert created.status_code == 201
    tid = created.json()["id"]
    assert created.json()["status"] == "DRAFT" and created.json()["variables"] == [
        "contact.first_name"]
    published = client.post(f"/api/v1/templates/{tid}/publish").json()
    assert published["status"] == "PUBLISHED"
    patched = client.patch(f"/api/v1/templates/{tid}", {"body": "مرحبا {{ contact.first_name }}"},
                           content_type="application/json").json()
    assert patched["version"] == 2 and patched["status"] == "DRAFT" and patched["id"] != tid
    with tenant_scope(tenant):
        contact = Contact.objects.create(tenant=tenant, first_name="سالم")
    preview = client.post(f"/api/v1/templates/{tid}/preview",
                          {"contact_id": str(contact.pk)},
                          content_type="application/json").json()
    assert preview["body"] == "أهلا سالم"
    listing = client.get("/api/v1/templates?key=hello").json()
    assert [t["version"] for t in listing["items"]] == [2, 1]
    variables = client.get("/api/v1/templates/variables").json()["variables"]
    assert "first_name" in variables["contact"] and variables["organization"] == ["name"]


def test_preview_keeps_to_the_contacts_the_member_may_see(tenant, owner):
    from django.db.models import Q

    from tend.people.visibility import register_contact_scope, unregister_contact_scope

    def hide_hidden(*, tenant, actor):
        return ~Q(display_name__startswith="Hidden")

    with tenant_scope(tenant):
        template = _make(tenant, key="seen")
        hidden = Contact.objects.create(tenant=tenant, first_name="Hidden",
                                        display_name="Hidden Huda")
    register_contact_scope(hide_hidden)
    try:
        page = signed_in(owner)
        detail = page.get(_url("templates-detail", template_id=template.pk)).content.decode()
        assert "Hidden Huda" not in detail
        preview = page.get(_url("templates-preview", template_id=template.pk),
                           {"contact": str(hidden.pk)}, HTTP_HX_REQUEST="true")
        assert preview.status_code == 200 and "Hidden" not in preview.content.decode()
        api = signed_in(owner, tenant)
        refused = api.post(f"/api/v1/templates/{template.pk}/preview",
                           {"contact_id": str(hidden.pk)}, content_type="application/json")
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "contact_id"
    finally:
        unregister_contact_scope(hide_hidden)
