"""Reading the inbox: conversations with filters and counts, one conversation, its messages.

Every list here runs a fixed number of queries however many rows it shows (contact, account
and assignee come with `select_related`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from tend.core.errors import ValidationFailed
from tend.core.models import Tenant, User
from tend.core.selectors.lookup import one_or_not_found
from tend.messaging.choices import ChannelKind, ConversationStatus, MessageStatus
from tend.messaging.models import Conversation, Message
from tend.people.visibility import contact_scope_filter

VIEWS = ("all", "mine", "unassigned")
# Newest activity first; the id makes the order total for cursors. Only conversations with a
# message are listed (a conversation is made together with its first message, so this leaves
# out nothing a person would look for) and `last_message_at` is never null in the list, which
# lets the (tenant, status, -last_message_at) index serve the first page.
CONVERSATION_ORDERING = ("-last_message_at", "-id")
MESSAGE_ORDERING = ("queued_at", "id")


@dataclass(frozen=True)
class InboxFilters:
    view: str = "all"  # all | mine | unassigned
    status: str = ConversationStatus.OPEN  # a ConversationStatus, or "" for every status
    channel: str = ""  # a ChannelKind, or ""
    account_id: UUID | None = None
    contact_id: UUID | None = None
    q: str = ""  # part of the contact's name

    @classmethod
    def from_params(cls, params: Any, *, default_status: str = ConversationStatus.OPEN,
                    strict: bool = False) -> InboxFilters:
        """Filters from query parameters, for the inbox page and the API alike: `view`,
        `status` (missing means `default_status`, empty means every status), `channel`,
        `account_id` (`account` too), `contact_id` and `q` (trimmed, at most 100
        characters). An unknown value falls back to its default, or with `strict` is a
        ValidationFailed naming the field."""
        errors: dict[str, list[str]] = {}

        def pick(field: str, value: Any, allowed: Any, default: str, message: str) -> str:
            value = str(value or "")
            if value and value not in allowed:
                errors[field] = [message]
                return default
            return value

        def uuid_of(field: str, value: Any) -> UUID | None:
            if not value or isinstance(value, UUID):
                return value or None
            try:
                return UUID(str(value))
            except ValueError:
                errors[field] = [_("Enter a valid id.")]
                return None

        status = params.get("status", default_status)
        filters = cls(
            view=pick("view", params.get("view"), VIEWS, "all",
                      _("Use all, mine or unassigned.")) or "all",
            status=pick("status", status, ConversationStatus.values, "",
                        _("Choose a conversation status.")),
            channel=pick("channel", params.get("channel"), ChannelKind.values, "",
                         _("Choose a channel.")),
            account_id=uuid_of("account_id", params.get("account_id")
                               or params.get("account")),
            contact_id=uuid_of("contact_id", params.get("contact_id")),
            q=str(params.get("q") or "").strip()[:100])
        if strict and errors:
            raise ValidationFailed(fields=errors)
        return filters


def _base(tenant: Tenant, filters: InboxFilters, actor: Any = None) -> QuerySet[Conversation]:
    """Conversations matching every filter except `view` (the counts split by view), with
    the people `actor` may see (`people.visibility`)."""
    qs = Conversation.objects.filter(tenant=tenant, last_message_at__isnull=False)
    scope = contact_scope_filter(tenant=tenant, actor=actor)
    if scope is not None:
        qs = qs.filter(scope)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.channel:
        qs = qs.filter(account__kind=filters.channel)
    if filters.account_id:
        qs = qs.filter(account_id=filters.account_id)
    if filters.contact_id:
        qs = qs.filter(contact_id=filters.contact_id)
    if filters.q:
        qs = qs.filter(Q(contact__display_name__icontains=filters.q)
                       | Q(contact__first_name__icontains=filters.q)
                       | Q(contact__last_name__icontains=filters.q))
    return qs


def _view_q(view: str, user: User | None) -> Q:
    if view == "mine":
        return Q(assignee=user) if user is not None else Q(pk__in=[])
    if view == "unassigned":
        return Q(assignee__isnull=True)
    return Q()


def conversation_list(*, tenant: Tenant, user: User | None,
                      filters: InboxFilters, actor: Any = None) -> QuerySet[Conversation]:
    """`tenant`'s conversations matching `filters` (`mine` is `user`'s), newest activity
    first, with contact, account and assignee loaded; given `actor`, only with the people
    the actor may see."""
    return (_base(tenant, filters, actor).filter(_view_q(filters.view, user))
            .select_related("contact", "account", "assignee")
            .order_by(*CONVERSATION_ORDERING))


def conversation_counts(*, tenant: Tenant, user: User | None, filters: InboxFilters,
                        cap: int | None = None, actor: Any = None) -> dict[str, int]:
    """How many conversations each view holds under the other filters, and how many have
    unread messages. Exact in one aggregate query; with `cap`, each count stops at `cap`
    (four small queries whose cost does not grow with the inbox — what the polled page uses,
    showing "cap+")."""
    base = _base(tenant, filters, actor)
    if cap is None:
        counts = base.aggregate(
            all=Count("id"),
            mine=Count("id", filter=_view_q("mine", user)),
            unassigned=Count("id", filter=Q(assignee__isnull=True)),
            unread=Count("id", filter=Q(unread_count__gt=0)),
        )
        return {k: int(v or 0) for k, v in counts.items()}
    views = {"all": Q(), "mine": _view_q("mine", user),
             "unassigned": Q(assignee__isnull=True), "unread": Q(unread_count__gt=0)}
    return {name: base.filter(q).order_by().values("pk")[:cap].count()
            for name, q in views.items()}


def conversation_get(*, tenant: Tenant, conversation_id: Any, actor: Any = None
                     ) -> Conversation:
    """One conversation of `tenant` with its contact, account and assignee, or `NotFound`
    (also when `actor` may not see its contact)."""
    qs = Conversation.objects.select_related("contact", "account", "assignee")
    scope = contact_scope_filter(tenant=tenant, actor=actor)
    if scope is not None:
        qs = qs.filter(scope)
    return one_or_not_found(qs.filter(tenant=tenant), conversation_id,
                            _("There is no such conversation."))


def conversation_messages(*, tenant: Tenant, conversation: Conversation) -> QuerySet[Message]:
    """The messages of `conversation`, oldest first, with their sender and template."""
    return (Message.objects.filter(tenant=tenant, conversation=conversation)
            .select_related("sender", "template").order_by(*MESSAGE_ORDERING))


def conversation_recent_messages(*, tenant: Tenant, conversation: Conversation,
                                 limit: int = 100) -> list[Message]:
    """The last `limit` messages of `conversation`, oldest first (what a thread shows)."""
    rows = list(Message.objects.filter(tenant=tenant, conversation=conversation)
                .select_related("sender", "template").order_by("-queued_at", "-id")[:limit])
    rows.reverse()
    return rows


def message_get(*, tenant: Tenant, message_id: Any) -> Message:
    return one_or_not_found(Message.objects.select_related("conversation").filter(tenant=tenant),
                            message_id, _("There is no such message."))


def contact_conversations(*, tenant: Tenant, contact_id: Any,
                          limit: int = 20) -> list[Conversation]:
    """A contact's conversations (the contact page panel), newest activity first."""
    return list(_base(tenant, InboxFilters(status="", contact_id=contact_id))
                .select_related("account", "assignee").order_by(*CONVERSATION_ORDERING)[:limit])


def thread_version(*, tenant: Tenant, conversation: Conversation) -> str:
    """A cheap fingerprint of a thread (newest message change): polls re-render only when it
    moved."""
    latest = (Message.objects.filter(tenant=tenant, conversation=conversation)
              .order_by("-updated_at").values_list("updated_at", flat=True).first())
    return latest.isoformat() if latest else ""


VISIBLE_TO_CONTACT = Q(direction="INBOUND") | ~Q(status__in=[
    MessageStatus.FAILED, MessageStatus.SKIPPED, MessageStatus.DISCARDED, MessageStatus.DEAD,
    MessageStatus.BOUNCED])
