"""The bot-flow registry and the shipped profile flow, end to end through the Telegram
webhook: keyword start, answers kept between messages, a bad email asked again, stop, and a
staff reply ending a flow."""

import pytest

from tend.core.actors import Actor
from tend.messaging.choices import MessageDirection
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.messaging.flows import Flow, flow_end, flow_handle, register_flow, unregister_flow
from tend.messaging.models import Conversation, Message
from tend.messaging.tests.telegram_helpers import connect_bot, deliver
from tend.people.models import Contact, IdentityAlias
from tend.people.services.contacts import contact_create

CHAT = 700001


@pytest.fixture
def bot(scoped, fake_telegram):  # noqa: F811
    return connect_bot(scoped, fake_telegram)


@pytest.fixture
def say(client, fake_telegram, bot):  # noqa: F811
    def _say(text: str, chat_id: int = CHAT, **kwargs) -> None:
        deliver(client, fake_telegram, fake_telegram.make_update(text, chat_id=chat_id,
                                                                 **kwargs))
    return _say


def _replies(chat_id: int = CHAT) -> list[str]:
    return list(Message.objects.filter(direction=MessageDirection.OUTBOUND,
                                       to_address=str(chat_id))
                .order_by("queued_at", "id").values_list("body", flat=True))


def _conversation(chat_id: int = CHAT) -> Conversation:
    return Conversation.objects.get(external_chat_id=str(chat_id))


def test_the_profile_flow_end_to_end(scoped, say):
    say("Profile", first_name="Rana")
    conversation = _conversation()
    assert (conversation.flow, conversation.state) == ("profile", "email")
    assert _replies()[-1].startswith("Let's update your profile. What is your email")

    say("not an email")
    assert _replies()[-1].startswith("That does not look like an email address")
    assert _conversation().state == "email"

    say("Rana@Example.COM")
    assert _conversation().state == "city"
    assert _replies()[-1] == "Which city do you live in?"

    say("Amman")
    contact = Contact.objects.get()
    assert (contact.primary_email, contact.city) == ("rana@example.com", "Amman")
    assert IdentityAlias.objects.get(contact=contact, type="EMAIL").is_primary
    assert _replies()[-1] == ("Thank you! Your profile is up to date — email: rana@example.com, "
                              "city: Amman.")
    conversation = _conversation()
    assert (conversation.flow, conversation.state, conversation.state_data) == ("", "", {})
    assert len(_replies()) == 4

    say("Amman")  # no flow running: the message waits for staff
    assert len(_replies()) == 4


def test_stop_ends_the_flow(scoped, say):
    say("/profile")
    say("stop")
    conversation = _conversation()
    assert (conversation.flow, conversation.state) == ("", "")
    assert _replies()[-1] == "Stopped. Write to us any time."
    say("someone@example.com")
    assert Contact.objects.get().primary_email == ""


def test_skip_keeps_what_the_contact_has(scoped, say):
    say("hello")
    contact = Contact.objects.get()
    contact.city = "Doha"
    contact.save(update_fields=["city"])
    say("profile")
    say("skip")
    assert _replies()[-1] == "Which city do you live in? We have Doha — send “skip” to keep it."
    say("skip")
    assert _replies()[-1].endswith("email: —, city: Doha.")


def test_an_email_of_another_contact_is_asked_again(scoped, say):
    contact_create(tenant=scoped, actor=Actor.system(), data={"first_name": "Other"},
                   emails=["taken@example.com"])
    say("profile")
    say("taken@example.com")
    assert _replies()[-1].startswith("This email address is already used by someone else")
    assert _conversation().state == "email"


def test_flows_speak_the_contacts_language(scoped, say):
    say("ملفي", language_code="ar")
    assert _conversation().flow == "profile"
    assert _replies()[-1].startswith("لنحدّث ملفك الشخصي. ما عنوان بريدك الإلكتروني؟")


def test_a_staff_reply_ends_the_flow_through_flow_end(scoped, say):
    say("profile")
    conversation = _conversation()
    assert flow_end(conversation=conversation, reason="staff_reply") is True
    assert _conversation().flow == ""
    assert flow_end(conversation=_conversation(), reason="staff_reply") is False


class CountFlow(Flow):
    key = "count"
    triggers = ("count",)

    def start(self, ctx):
        ctx.data["n"] = 0
        ctx.reply("counting")
        ctx.goto("counting")

    def on_counting(self, ctx):
        ctx.data["n"] += 1
        if ctx.data["n"] == 3:
            ctx.reply("three")
            ctx.end("done")


@pytest.fixture
def count_flow():
    register_flow(CountFlow())
    yield
    unregister_flow("count")


def test_a_registered_flow_keeps_its_state_between_messages(scoped, say, count_flow):
    say("COUNT")
    say("a")
    assert _conversation().state_data == {"n": 1}
    say("b")
    say("c")
    assert _replies() == ["counting", "three"]
    assert _conversation().flow == ""


def test_a_conversation_in_an_unknown_flow_is_cleared(scoped, say):
    say("hello")
    Conversation.objects.update(flow="gone", state="x")
    conversation = _conversation()
    message = Message.objects.filter(direction=MessageDirection.INBOUND).first()
    assert flow_handle(tenant=scoped, conversation=conversation, message=message) is False
    assert _conversation().flow == ""
