"""The inbox: conversations on the left (filters, counts), the open thread on the right
(messages with delivery ticks, reply box with templates, assign, snooze, resolve).

The list and the thread poll with htmx (every few seconds); the thread poll sends the
version it shows and gets a 204 (nothing to swap) while no message changed, so an idle
inbox costs two small queries per poll.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tend.core.errors import TendError, ValidationFailed
from tend.core.models import Membership
from tend.core.views.base import is_htmx, require_perm, tenant_and_actor
from tend.messaging.choices import ChannelKind, ConversationStatus
from tend.messaging.models import Conversation
from tend.messaging.selectors.conversations import (
    InboxFilters,
    conversation_counts,
    conversation_get,
    conversation_list,
    conversation_recent_messages,
    message_get,
    thread_version,
)
from tend.messaging.selectors.templates import template_get, templates_for_channel
from tend.messaging.services.conversations import (
    assignee_from_id,
    conversation_assign,
    conversation_mark_read,
    conversation_reopen,
    conversation_reply,
    conversation_resolve,
    conversation_snooze,
    message_retry,
    outside_window,
)

LIST_ROWS = 50
THREAD_ROWS = 100
LIST_POLL_SECONDS = 5
THREAD_POLL_SECONDS = 3
# The view counts stop here ("1000+"), so a poll costs the same in a huge inbox.
COUNT_CAP = 1000


def _list_context(request: HttpRequest, selected: Conversation | None) -> dict[str, Any]:
    tenant, actor = tenant_and_actor(request)
    user = actor.acting_user
    filters = InboxFilters.from_params(request.GET)
    rows = list(conversation_list(tenant=tenant, user=user, filters=filters,
                                  actor=actor)[:LIST_ROWS])
    params = request.GET.copy()
    params.pop("v", None)
    return {
        "conversations": rows, "filters": filters,
        "counts": conversation_counts(tenant=tenant, user=user, filters=filters,
                                      cap=COUNT_CAP, actor=actor),
        "count_cap": COUNT_CAP,
        "selected": selected, "query": params.urlencode(),
        "statuses": ConversationStatus.choices, "channels": ChannelKind.choices,
        "list_poll": LIST_POLL_SECONDS,
    }


def _thread_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    tenant, actor = tenant_and_actor(request)
    rows = conversation_recent_messages(tenant=tenant, conversation=conversation,
                                        limit=THREAD_ROWS)
    return {
        "conversation": conversation, "thread": rows,
        "version": thread_version(tenant=tenant, conversation=conversation),
        "thread_poll": THREAD_POLL_SECONDS,
        "can_send": actor.has_perm("conversations.send"),
        "can_change": actor.has_perm("conversations.change"),
    }


def _page(request: HttpRequest, conversation: Conversation | None, *,
          errors: dict[str, list[str]] | None = None, status: int = 200) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    context = _list_context(request, conversation)
    if conversation is not None:
        context.update(_thread_context(request, conversation))
        context.update(_composer_context(request, conversation, errors=errors))
        if actor.has_perm("conversations.change"):
            context["members"] = list(Membership.objects.filter(tenant=tenant, is_active=True)
                                      .select_related("user").order_by("user__full_name"))
    return render(request, "messaging/inbox.html", context, status=status)


def _composer_context(request: HttpRequest, conversation: Conversation, *,
                      errors: dict[str, list[str]] | None = None,
                      body: str = "") -> dict[str, Any]:
    tenant, actor = tenant_and_actor(request)
    return {
        "conversation": conversation,
        "templates": templates_for_channel(tenant=tenant, channel=conversation.account.kind),
        "outside_window": outside_window(conversation),
        "errors": errors or {}, "body": body,
        "can_send": actor.has_perm("conversations.send"),
    }


def _conversation(request: HttpRequest, conversation_id: UUID) -> Conversation:
    tenant, actor = tenant_and_actor(request)
    return conversation_get(tenant=tenant, conversation_id=conversation_id, actor=actor)


@require_perm("conversations.view")
def inbox(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _page(request, None)


@require_perm("conversations.view")
def inbox_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    selected_id = request.GET.get("selected")
    selected = None
    if selected_id:
        try:
            selected = Conversation(pk=UUID(selected_id))
        except ValueError:
            selected = None
    return render(request, "messaging/partials/inbox_list.html",
                  _list_context(request, selected))


@require_perm("conversations.view")
def inbox_thread(request: HttpRequest, org_slug: str, conversation_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    conversation = _conversation(request, conversation_id)
    conversation_mark_read(tenant=tenant, actor=actor, conversation=conversation)
    return _page(request, conversation)


@require_perm("conversations.view")
def inbox_messages(request: HttpRequest, org_slug: str, conversation_id: UUID) -> HttpResponse:
    """The thread's messages (the poll): 204 while `v` is still the newest version."""
    tenant, actor = tenant_and_actor(request)
    conversation = _conversation(request, conversation_id)
    if request.GET.get("v") and request.GET["v"] == thread_version(
            tenant=tenant, conversation=conversation):
        return HttpResponse(status=204)
    conversation_mark_read(tenant=tenant, actor=actor, conversation=conversation)
    return render(request, "messaging/partials/inbox_messages.html",
                  _thread_context(request, conversation))


def _back(org_slug: str, conversation: Conversation) -> HttpResponse:
    return redirect("messaging:inbox-thread", org_slug=org_slug,
                    conversation_id=conversation.pk)


@require_POST
@require_perm("conversations.send")
def inbox_reply(request: HttpRequest, org_slug: str, conversation_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    conversation = _conversation(request, conversation_id)
    body = request.POST.get("body", "")
    template = None
    try:
        if request.POST.get("template"):
            try:
                template = template_get(tenant=tenant, template_id=request.POST["template"])
            except TendError:
                raise ValidationFailed(fields={"template": [
                    _("Choose a published template of this channel.")]}) from None
        conversation_reply(tenant=tenant, actor=actor, conversation=conversation, body=body,
                           template=template)
    except ValidationFailed as exc:
        if is_htmx(request):
            return render(request, "messaging/partials/inbox_composer.html",
                          _composer_context(request, conversation, errors=exc.fields,
                                            body=body), status=422)
        return _page(request, conversation, errors=exc.fields, status=422)
    if is_htmx(request):
        response = render(request, "messaging/partials/inbox_composer.html",
                          _composer_context(request, conversation))
        response["HX-Trigger"] = "thread-changed"
        return response
    return _back(org_slug, conversation)


def _after_change(request: HttpRequest, org_slug: str, conversation: Conversation,
                  note: str) -> HttpResponse:
    flash.success(request, note)
    return _back(org_slug, conversation)


@require_POST
@require_perm("conversations.change")
def inbox_assign(request: HttpRequest, org_slug: str, conversation_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    conversation = _conversation(request, conversation_id)
    value = request.POST.get("assignee", "")
    assignee = None
    if value == "me":
        assignee = actor.acting_user
    elif value:
        assignee = assignee_from_id(tenant=tenant, user_id=value)
    conversation_assign(tenant=tenant, actor=actor, conversation=conversation,
                        assignee=assignee)
    note = (_("Assigned to %(name)s.") % {"name": assignee.get_short_name()} if assignee
            else _("Unassigned."))
    return _after_change(request, org_slug, conversation, note)


def _snooze_until(value: str, custom: str) -> datetime:
    now = timezone.localtime()
    if value == "1h":
        return now + timedelta(hours=1)
    if value == "tomorrow":
        return timezone.make_aware(datetime.combine(now.date() + timedelta(days=1), time(9)))
    if value == "week":
        return timezone.make_aware(datetime.combine(now.date() + timedelta(days=7), time(9)))
    try:
        chosen = datetime.fromisoformat(custom)
    except ValueError:
        raise ValidationFailed(fields={"until": [_("Choose when to wake it.")]}) from None
    return timezone.make_aware(chosen) if timezone.is_naive(chosen) else chosen


@require_POST
@require_perm("conversations.change")
def inbox_snooze(request: HttpRequest, org_slug: str, conversation_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    conversation = _conversation(request, conversation_id)
    until = _snooze_until(request.POST.get("preset", ""), request.POST.get("until", ""))
    conversation_snooze(tenant=tenant, actor=actor, conversation=conversation, until=until)
    return _after_change(request, org_slug, conversation, _("Snoozed until %(when)s.") % {
        "when": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")})


@require_POST
@require_perm("conversations.change")
def inbox_resolve(request: HttpRequest, org_slug: str, conversation_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    conversation = _conversation(request, conversation_id)
    conversation_resolve(tenant=tenant, actor=actor, conversation=conversation)
    return _after_change(request, org_slug, conversation, _("Resolved."))


@require_POST
@require_perm("conversations.change")
def inbox_reopen(request: HttpRequest, org_slug: str, conversation_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    conversation = _conversation(request, conversation_id)
    conversation_reopen(tenant=tenant, actor=actor, conversation=conversation)
    return _after_change(request, org_slug, conversation, _("Reopened."))


@require_POST
@require_perm("conversations.send")
def inbox_retry(request: HttpRequest, org_slug: str, message_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    message = message_get(tenant=tenant, message_id=message_id)
    message_retry(tenant=tenant, actor=actor, message=message)
    if message.conversation_id is None:
        return redirect("messaging:inbox", org_slug=org_slug)
    flash.success(request, _("Queued again."))
    return redirect(reverse("messaging:inbox-thread", kwargs={
        "org_slug": org_slug, "conversation_id": message.conversation_id}))


base = "o/<slug:org_slug>/messaging/inbox/"
urlpatterns = [
    path(base, inbox, name="inbox"),
    path(f"{base}list/", inbox_list, name="inbox-list"),
    path(f"{base}<uuid:conversation_id>/", inbox_thread, name="inbox-thread"),
    path(f"{base}<uuid:conversation_id>/messages/", inbox_messages, name="inbox-messages"),
    path(f"{base}<uuid:conversation_id>/reply/", inbox_reply, name="inbox-reply"),
    path(f"{base}<uuid:conversation_id>/assign/", inbox_assign, name="inbox-assign"),
    path(f"{base}<uuid:conversation_id>/snooze/", inbox_snooze, name="inbox-snooze"),
    path(f"{base}<uuid:conversation_id>/resolve/", inbox_resolve, name="inbox-resolve"),
    path(f"{base}<uuid:conversation_id>/reopen/", inbox_reopen, name="inbox-reopen"),
    path(f"{base}messages/<uuid:message_id>/retry/", inbox_retry, name="inbox-retry"),
]
