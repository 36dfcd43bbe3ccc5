"""Pytest fixtures starting the fake provider servers (nothing is registered globally).

    pytest_plugins = ["tend.messaging.fakes.pytest_plugin"]        # in a conftest.py
    from tend.messaging.fakes.pytest_plugin import fake_telegram   # or import the fixture

Each fixture starts a fresh fake for the test and stops it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .sms import FakeSMS
from .smtp import FakeSMTP
from .telegram import FakeTelegram
from .whatsapp import FakeWhatsApp


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A running `FakeTelegram` with one bot (`fake_telegram.token`)."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def fake_whatsapp() -> Iterator[FakeWhatsApp]:
    """A running `FakeWhatsApp` (`access_token`, `app_secret`, `verify_token`,
    `phone_number_id`)."""
    with FakeWhatsApp() as fake:
        yield fake


@pytest.fixture
def fake_sms() -> Iterator[FakeSMS]:
    """A running Twilio-compatible `FakeSMS` (`account_sid`, `auth_token`)."""
    with FakeSMS() as fake:
        yield fake


@pytest.fixture
def fake_smtp() -> Iterator[FakeSMTP]:
    """A running `FakeSMTP` (`host`, `port`; no authentication)."""
    with FakeSMTP() as fake:
        yield fake
