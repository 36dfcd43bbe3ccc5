"""Telegram account linking: staff make a one-time link for a contact; `/start <code>` from
Telegram attaches the sender's Telegram id to that contact, verified."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.messaging.choices import MessageDirection, MessagePurpose
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.messaging.models import Conversation, Message, TelegramLink
from tend.messaging.services.linking import telegram_link_create, telegram_link_url
from tend.messaging.tests.telegram_helpers import connect_bot, deliver
from tend.people.models import Contact, IdentityAlias
from tend.people.services.aliases import alias_add
from tend.people.services.contacts import contact_create


@pytest.fixture
def bot(scoped, fake_telegram):  # noqa: F811
    return connect_bot(scoped, fake_telegram)


@pytest.fixture
def person(scoped):
    return contact_create(tenant=scoped, actor=Actor.system(),
                          data={"first_name": "Huda", "last_name": "Nasser"},
                          emails=["huda@example.com"])


def _replies() -> list[str]:
    return list(Message.objects.filter(direction=MessageDirection.OUTBOUND)
                .order_by("queued_at").values_list("body", flat=True))


def test_a_link_is_a_t_me_start_url_valid_for_7_days(scoped, bot, person):
    link = telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)

    assert telegram_link_url(link) == f"https://t.me/tend_test_bot?start={link.code}"
    assert len(link.code) >= 32
    remaining = link.expires_at - timezone.now()
    assert timedelta(days=6, hours=23) < remaining <= timedelta(days=7)


def test_no_link_without_a_connected_bot(scoped, person):
    with pytest.raises(ValidationFailed) as exc:
        telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)
    assert list(exc.value.fields) == ["account"]


def test_start_with_a_valid_code_links_the_contact(scoped, fake_telegram, bot, person, client):  # noqa: F811
    link = telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)

    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600001,
                                                              first_name="Huda"))

    alias = IdentityAlias.objects.get(type="TELEGRAM", value="600001")
    assert alias.contact_id == person.pk
    assert alias.verified_at is not None
    link.refresh_from_db()
    assert link.used_at is not None and link.telegram_user_id == "600001"
    # The contact made from the Telegram profile on arrival was merged into the linked one.
    assert Contact.objects.filter(status="ACTIVE").count() == 1
    conversation = Conversation.objects.get()
    assert conversation.contact_id == person.pk
    assert set(Message.objects.values_list("contact_id", flat=True)) == {person.pk}
    reply = Message.objects.get(direction=MessageDirection.OUTBOUND)
    assert reply.purpose == MessagePurpose.TRANSACTIONAL
    assert reply.conversation_id == conversation.pk
    assert reply.to_address == "600001"
    assert reply.body == ("Thank you, Huda! Your Telegram account is now linked to your "
                          "profile at Acme Club.")
    assert person.activities.filter(type="TELEGRAM_LINKED").count() == 1


def test_start_from_the_contacts_own_telegram_verifies_it(scoped, fake_telegram, bot, person,  # noqa: F811
                                                          client):
    alias_add(tenant=scoped, actor=Actor.system(), contact=person, type="TELEGRAM",
              value="600002")
    link = telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)

    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600002))

    alias = IdentityAlias.objects.get(type="TELEGRAM", value="600002")
    assert alias.contact_id == person.pk and alias.verified_at is not None
    assert Contact.objects.count() == 1
    assert len(_replies()) == 1 and "now linked" in _replies()[0]


def test_an_expired_code_is_refused(scoped, fake_telegram, bot, person, client):  # noqa: F811
    link = telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)
    TelegramLink.objects.filter(pk=link.pk).update(expires_at=timezone.now()
                                                   - timedelta(minutes=1))

    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600003))

    assert _replies() == ["This link has expired. Ask us for a new one."]
    assert not IdentityAlias.objects.filter(contact=person, type="TELEGRAM").exists()
    link.refresh_from_db()
    assert link.used_at is None


def test_a_used_code_is_refused_to_someone_else(scoped, fake_telegram, bot, person, client):  # noqa: F811
    link = telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)
    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600004))

    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600005))
    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600004))

    other = IdentityAlias.objects.get(value="600005").contact
    assert other.pk != person.pk
    replies = dict(Message.objects.filter(direction=MessageDirection.OUTBOUND)
                   .values_list("to_address", "body").order_by("queued_at"))
    assert replies["600005"] == "This link was already used. Ask us for a new one."
    assert replies["600004"] == "Your Telegram account is already linked. Thank you!"
    assert IdentityAlias.objects.get(value="600004").contact_id == person.pk


def test_an_unknown_code_is_refused(scoped, fake_telegram, bot, client):  # noqa: F811
    deliver(client, fake_telegram, fake_telegram.start_update("nosuchcode", chat_id=600006))
    assert _replies() == ["This link is not valid. Ask us for a new one."]


def test_start_without_a_code_creates_the_contact_and_welcomes(scoped, fake_telegram, bot,  # noqa: F811
                                                                client):
    deliver(client, fake_telegram, fake_telegram.start_update(chat_id=600007,
                                                              first_name="Omar"))

    contact = IdentityAlias.objects.get(type="TELEGRAM", value="600007").contact
    assert contact.first_name == "Omar"
    [welcome] = _replies()
    assert welcome.startswith("Welcome to Acme Club!")


def test_a_telegram_id_held_by_an_established_contact_is_not_moved(scoped, fake_telegram, bot,  # noqa: F811
                                                                   person, client):
    holder = contact_create(tenant=scoped, actor=Actor.system(),
                            data={"first_name": "Sami"}, emails=["sami@example.com"])
    alias_add(tenant=scoped, actor=Actor.system(), contact=holder, type="TELEGRAM",
              value="600008")
    link = telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)

    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600008))

    assert IdentityAlias.objects.get(value="600008").contact_id == holder.pk
    link.refresh_from_db()
    assert link.used_at is None
    assert person.activities.filter(type="TELEGRAM_LINK_CONFLICT").count() == 1
    assert "already linked to another profile" in _replies()[0]


def test_the_confirmation_is_in_the_contacts_language(scoped, fake_telegram, bot, client):  # noqa: F811
    person = contact_create(tenant=scoped, actor=Actor.system(),
                            data={"first_name": "Huda", "language": "ar"})
    link = telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)

    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600009,
                                                              language_code="en"))

    [reply] = _replies()
    # Arabic, the contact's language, not the language of their Telegram app.
    assert reply == "شكرًا لك يا Huda! أصبح حسابك على تيليجرام مربوطًا بملفك لدى Acme Club."


def test_the_confirmation_reaches_telegram_through_the_outbox(scoped, fake_telegram, bot,  # noqa: F811
                                                              person, client):
    from tend.messaging.outbox.worker import OutboxWorker

    link = telegram_link_create(tenant=scoped, actor=Actor.system(), contact=person)
    deliver(client, fake_telegram, fake_telegram.start_update(link.code, chat_id=600010))

    OutboxWorker(worker_id="w-link").run_until_idle(timeout=30)

    [sent] = fake_telegram.messages_to(600010)
    assert sent.text.startswith("Thank you, Huda!")
    reply = Message.objects.get(direction=MessageDirection.OUTBOUND)
    assert (reply.status, reply.provider_message_id) == ("SENT", f"600010:{sent.message_id}")
