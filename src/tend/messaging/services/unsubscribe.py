"""One-click unsubscribe from marketing email (RFC 8058).

Marketing mail carries `List-Unsubscribe: <https://…/u/<token>/>` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The token is signed with the secret key
(`django.core.signing.Signer`, its own salt, no timestamp) and names the organization and the
contact; it does not expire, since a person may unsubscribe from an old message. Using it
revokes the contact's EMAIL MARKETING consent through people's `consent_set` (history,
timeline and opt-in flag included); transactional mail is not affected.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.urls import reverse

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.origins import public_origin as core_public_origin
from tend.people.choices import ConsentChannel, ConsentPurpose, ConsentStatus
from tend.people.models import Consent, Contact
from tend.people.services.consent import consent_set

SALT = "tend.messaging.unsubscribe"
SOURCE = "unsubscribe link"


def unsubscribe_token(*, tenant_id: Any, contact_id: Any) -> str:
    """The signed token of `contact_id` in `tenant_id`."""
    return signing.Signer(salt=SALT).sign_object({"t": str(tenant_id), "c": str(contact_id)})


def unsubscribe_read(token: str) -> tuple[str, str]:
    """(tenant id, contact id) of a token; `signing.BadSignature` when it was not made
    here or was altered."""
    value = signing.Signer(salt=SALT).unsign_object(token)
    if not isinstance(value, dict) or not value.get("t") or not value.get("c"):
        raise signing.BadSignature("incomplete unsubscribe token")
    return str(value["t"]), str(value["c"])


def public_origin(fallback_url: str = "") -> str:
    """This installation's public origin (`tend.core.origins.public_origin`), else the origin
    of a URL we gave a provider (an account's webhook URL)."""
    return core_public_origin(fallback_url=fallback_url)


def unsubscribe_url(*, tenant_id: Any, contact_id: Any, origin: str = "") -> str:
    """The absolute one-click URL (relative when no public origin is known)."""
    path = reverse("messaging:unsubscribe",
                   kwargs={"token": unsubscribe_token(tenant_id=tenant_id,
                                                      contact_id=contact_id)})
    return f"{origin.rstrip('/')}{path}"


def unsubscribe_headers(*, url: str, mailto: str = "") -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers for `url` (and a mailto fallback)."""
    targets = [f"<{url}>"]
    if mailto:
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return {"List-Unsubscribe": ", ".join(targets),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def unsubscribed(*, tenant: Tenant, contact: Contact) -> bool:
    """Whether the contact's EMAIL MARKETING consent is already revoked."""
    return Consent.objects.filter(tenant=tenant, contact=contact, channel=ConsentChannel.EMAIL,
                                  purpose=ConsentPurpose.MARKETING,
                                  status=ConsentStatus.REVOKED).exists()


def unsubscribe_apply(*, tenant: Tenant, contact: Contact, source: str = SOURCE,
                      ip: str | None = None) -> bool:
    """Revoke `contact`'s EMAIL MARKETING consent (the person asked: the system acts for
    them). Returns whether anything changed; a second use changes nothing."""
    _consent, changed = consent_set(tenant=tenant, actor=Actor.system(), contact=contact,
                                    channel=ConsentChannel.EMAIL,
                                    purpose=ConsentPurpose.MARKETING,
                                    status=ConsentStatus.REVOKED, source=source, ip=ip)
    return changed
