"""The providers of this part are registered with forms the channels page can build, and the
in-app provider delivers at once."""

from __future__ import annotations

import pytest
from django.utils import translation

from tend.messaging.choices import MessageStatus
from tend.messaging.models import ChannelAccount
from tend.messaging.providers import OutgoingMessage, provider_for


@pytest.mark.parametrize(("kind", "secrets", "required", "address_types", "per_second"), [
    ("WHATSAPP", ["access_token", "app_secret", "verify_token"],
     ["phone_number_id", "access_token", "app_secret", "verify_token"],
     ("WHATSAPP", "PHONE"), 80),
    ("SMS", ["auth_token"], ["account_sid", "from_number", "auth_token"], ("PHONE",), None),
    ("EMAIL", ["password", "api_key", "webhook_secret", "webhook_signing_key"], ["from_email"],
     ("EMAIL",), None),
    ("WEB", [], [], (), None),
])
def test_providers_describe_their_forms(kind, secrets, required, address_types, per_second):
    provider = provider_for(kind)
    fields = (*provider.setting_fields, *provider.credential_fields)
    assert [f.name for f in fields if f.secret] == secrets
    assert [f.name for f in fields if f.required] == required
    assert (provider.address_types, provider.rate_limits.per_second) == (
        address_types, per_second)
    assert len({f.name for f in fields}) == len(fields)


def test_field_labels_are_translated():
    with translation.override("ar"):
        labels = {str(f.label) for kind in ("WHATSAPP", "SMS", "EMAIL")
                  for f in (*provider_for(kind).setting_fields,
                            *provider_for(kind).credential_fields)}
    assert "Access token" not in labels and "SMTP server" not in labels


def test_the_in_app_provider_delivers_at_once():
    result = provider_for("WEB").send(ChannelAccount(kind="WEB"), OutgoingMessage(
        message_id="0192", to=""))
    assert (result.provider_message_id, result.status) == ("web:0192", MessageStatus.DELIVERED)
    assert provider_for("WEB").requires_address is False
