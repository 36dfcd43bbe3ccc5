"""Signed links to the in-app (WEB) channel's contact-facing page: `/chat/<token>/`.

The token names the organization, the WEB account and the contact, and is signed with the
site's secret key (django.core.signing, its own salt) and a timestamp: it works until
`WEBCHAT_LINK_DAYS` days after it was made, and nothing in it can be changed without
breaking the signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.core import signing
from django.urls import reverse

SALT = "tend.messaging.webchat"
WEBCHAT_LINK_DAYS = 30


@dataclass(frozen=True)
class WebchatTarget:
    tenant_id: UUID
    account_id: UUID
    contact_id: UUID


def webchat_token(*, tenant_id: UUID, account_id: UUID, contact_id: UUID) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object(
        [str(tenant_id), str(account_id), str(contact_id)], compress=True)


def webchat_path(*, tenant_id: UUID, account_id: UUID, contact_id: UUID) -> str:
    return reverse("messaging:webchat", kwargs={"token": webchat_token(
        tenant_id=tenant_id, account_id=account_id, contact_id=contact_id)})


def webchat_unsign(token: str, *, max_age_days: int = WEBCHAT_LINK_DAYS) -> WebchatTarget | None:
    """What a token names, or None if it is forged, malformed or expired."""
    try:
        values = signing.TimestampSigner(salt=SALT).unsign_object(
            token, max_age=max_age_days * 86400)
        tenant_id, account_id, contact_id = (UUID(v) for v in values)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return WebchatTarget(tenant_id, account_id, contact_id)
