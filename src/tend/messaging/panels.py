"""The "Conversations" panel of the contact page: the contact's threads (linking to the
inbox) and, for each in-app (WEB) account, the signed link to the contact's chat page."""

from __future__ import annotations

from typing import Any

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.messaging.choices import AccountStatus, ChannelKind
from tend.messaging.models import ChannelAccount
from tend.messaging.selectors.conversations import contact_conversations
from tend.messaging.webchat import WEBCHAT_LINK_DAYS, webchat_path
from tend.people.models import Contact


def conversations_panel_context(*, tenant: Tenant, actor: Actor,
                                contact: Contact) -> dict[str, Any] | None:
    """Two queries whatever the contact holds."""
    conversations = contact_conversations(tenant=tenant, contact_id=contact.pk)
    web_accounts = list(ChannelAccount.objects.filter(tenant=tenant, kind=ChannelKind.WEB)
                        .exclude(status=AccountStatus.DISABLED).order_by("name"))
    links = [{"account": account,
              "path": webchat_path(tenant_id=tenant.pk, account_id=account.pk,
                                   contact_id=contact.pk)}
             for account in web_accounts] if actor.has_perm("conversations.send") else []
    return {"conversations": conversations, "webchat_links": links,
            "webchat_days": WEBCHAT_LINK_DAYS}
