"""The /practice bot flow end to end through the Telegram webhook."""

import pytest

from tend.community.models import PracticeChange, PracticeStatus
from tend.messaging.choices import MessageDirection
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.messaging.models import Conversation, Message
from tend.messaging.tests.telegram_helpers import connect_bot, deliver

CHAT = 700099


@pytest.fixture
def say(scoped, client, fake_telegram):  # noqa: F811
    connect_bot(scoped, fake_telegram)

    def _say(text: str) -> None:
        deliver(client, fake_telegram, fake_telegram.make_update(text, chat_id=CHAT,
                                                                 first_name="Nour"))
    return _say


def _replies() -> list[str]:
    return list(Message.objects.filter(direction=MessageDirection.OUTBOUND,
                                       to_address=str(CHAT))
                .order_by("queued_at", "id").values_list("body", flat=True))


def test_member_reports_practice(scoped, say):
    say("/practice")
    assert _replies()[-1].startswith("How regular is your practice now? Send a number:\n1. ")
    assert Conversation.objects.get(external_chat_id=str(CHAT)).state == "regularity"
    say("9")
    assert _replies()[-1] == "Please send a number from 1 to 5."
    before = len(_replies())
    say("²")  # a digit to str.isdigit(), not a number to int()
    assert _replies()[before:] == ["Please send a number from 1 to 5."]
    say("4")
    assert _replies()[-1] == "Thank you! Your practice is recorded as: Daily."
    status = PracticeStatus.objects.get()
    assert status.regularity == "DAILY"
    assert list(PracticeChange.objects.values_list("regularity", "source")) == [("DAILY", "bot")]
    assert Conversation.objects.get(external_chat_id=str(CHAT)).flow == ""
