"""The inbox: conversation services (reply, the WhatsApp window, flows ending, assign with a
notification, snooze, resolve, reopen, read), the pages (with query counts), the API, the
contact's chat page (WEB channel) and task-due notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Notification
from tend.core.selectors.access import actor_for_membership
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, membership_of, signed_in
from tend.messaging.choices import ConversationStatus, MessageStatus
from tend.messaging.models import ChannelAccount, Conversation, Message
from tend.messaging.providers import ParsedMessage, Sender, StatusUpdate
from tend.messaging.services.conversations import (
    assignee_from_id,
    conversation_assign,
    conversation_reply,
    conversation_resolve,
    conversation_snooze,
    webchat_receive,
)
from tend.messaging.services.inbound import inbound_append, message_apply_status
from tend.messaging.webchat import webchat_path, webchat_token, webchat_unsign
from tend.people.models import Contact, Task

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def _account(tenant, kind="WEB", name="Website chat"):
    return ChannelAccount.objects.create(tenant=tenant, kind=kind, name=name, status="ACTIVE")


def _inbound(tenant, account, contact, text, n=0, at=None):
    return inbound_append(tenant=tenant, account=account, contact=contact,
                          parsed=ParsedMessage(provider_message_id=f"p{n}-{contact.pk}",
                                               sender=Sender(identifiers=[]),
                                               chat_id=str(contact.pk), text=text, sent_at=at))


def _refresh(tenant, obj):
    with tenant_scope(tenant):
        obj.refresh_from_db()


@pytest.fixture
def web(scoped):
    return _account(scoped)


@pytest.fixture
def amal(scoped):
    return Contact.objects.create(tenant=scoped, first_name="Amal", display_name="Amal Haddad",
                                  language="en")


@pytest.fixture
def agent(tenant, make_user):
    user = make_user("agent@example.com", full_name="Aziz Agent")
    add_member(tenant, user, "agent")
    return user


# --- services ----------------------------------------------------------------------------


def test_reply_queues_a_message_ends_the_flow_and_clears_unread(scoped, web, amal):
    conversation = _inbound(scoped, web, amal, "Hello?").conversation
    conversation.refresh_from_db()
    assert conversation.unread_count == 1
    Conversation.objects.filter(pk=conversation.pk).update(flow="profile", state="email",
                                                           status=ConversationStatus.PENDING)
    conversation.refresh_from_db()
    message = conversation_reply(tenant=scoped, actor=SYSTEM, conversation=conversation,
                                 body="  Hi Amal  ")
    conversation.refresh_from_db()
    assert message.body == "Hi Amal" and message.direction == "OUTBOUND"
    assert message.conversation_id == conversation.pk and message.account_id == web.pk
    assert (conversation.flow, conversation.state, conversation.unread_count) == ("", "", 0)
    assert conversation.status == ConversationStatus.OPEN
    with pytest.raises(ValidationFailed) as exc:
        conversation_reply(tenant=scoped, actor=SYSTEM, conversation=conversation, body=" ")
    assert "body" in exc.value.fields


def test_whatsapp_window_allows_only_templates_after_24_hours(scoped, amal):
    from tend.messaging.services.templates import template_resolve

    wa = _account(scoped, "WHATSAPP", "WhatsApp")
    old = timezone.now() - timedelta(hours=25)
    conversation = _inbound(scoped, wa, amal, "hi", at=old).conversation
    conversation.refresh_from_db()
    with pytest.raises(ValidationFailed) as exc:
        conversation_reply(tenant=scoped, actor=SYSTEM, conversation=conversation, body="Hey")
    assert "24 hours" in exc.value.fields["body"][0]
    template = template_resolve(tenant=scoped, key="welcome", channel="WHATSAPP", contact=amal)
    message = conversation_reply(tenant=scoped, actor=SYSTEM, conversation=conversation,
                                 template=template)
    assert message.template_id == template.pk
    assert message.body.startswith("Hello Amal, welcome to Acme Club")
    # A new message from the person opens the window again.
    _inbound(scoped, wa, amal, "again", n=1)
    conversation.refresh_from_db()
    assert conversation_reply(tenant=scoped, actor=SYSTEM, conversation=conversation,
                              body="Free text").body == "Free text"


def test_assign_notifies_the_assignee_but_not_oneself(tenant, scoped, web, amal, agent, owner,
                                                       django_capture_on_commit_callbacks):
    conversation = _inbound(scoped, web, amal, "Need help").conversation
    owner_actor = actor_for_membership(membership_of(tenant, owner))
    with django_capture_on_commit_callbacks(execute=True):
        conversation_assign(tenant=scoped, actor=owner_actor, conversation=conversation,
                            assignee=agent)
        conversation_assign(tenant=scoped, actor=owner_actor, conversation=conversation,
                            assignee=owner)
    notes = list(Notification.objects.filter(tenant=scoped))
    assert [(n.user_id, n.kind) for n in notes] == [(agent.pk, "conversation.assigned")]
    assert notes[0].title == "Olive Owner assigned you a conversation with Amal Haddad"
    assert notes[0].url == reverse("messaging:inbox-thread", kwargs={
        "org_slug": "acme", "conversation_id": conversation.pk})
    assert [m.to for m in mail.outbox] == [["agent@example.com"]]


def test_assign_refuses_non_members(scoped, web, amal, make_user):
    stranger = make_user("stranger@example.com")
    conversation = _inbound(scoped, web, amal, "x").conversation
    with pytest.raises(ValidationFailed):
        conversation_assign(tenant=scoped, actor=SYSTEM, conversation=conversation,
                            assignee=stranger)


def test_assignee_from_id_names_only_members(scoped, agent, make_user):
    stranger = make_user("stranger@example.com")
    assert assignee_from_id(tenant=scoped, user_id=str(agent.pk)) == agent
    for bad in (str(stranger.pk), "not-an-id", 12):
        with pytest.raises(ValidationFailed) as refused:
            assignee_from_id(tenant=scoped, user_id=bad, field="assignee_id")
        assert list(refused.value.fields) == ["assignee_id"]


def test_snooze_resolve_and_a_new_message_reopens(scoped, web, amal):
    from tend.messaging.registration_inbox import wake_snoozed

    conversation = _inbound(scoped, web, amal, "x").conversation
    with pytest.raises(ValidationFailed):
        conversation_snooze(tenant=scoped, actor=SYSTEM, conversation=conversation,
                            until=timezone.now() - timedelta(minutes=1))
    conversation_snooze(tenant=scoped, actor=SYSTEM, conversation=conversation,
                        until=timezone.now() + timedelta(hours=1))
    assert wake_snoozed(timezone.now()) == 0
    Conversation.objects.filter(pk=conversation.pk).update(
        snoozed_until=timezone.now() - timedelta(seconds=1))
    assert wake_snoozed(timezone.now()) == 1
    conversation_resolve(tenant=scoped, actor=SYSTEM, conversation=conversation)
    _inbound(scoped, web, amal, "one more thing", n=2)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.OPEN


def test_webchat_link_is_signed_and_the_contact_writes_inbound(scoped, web, amal):
    token = webchat_token(tenant_id=scoped.pk, account_id=web.pk, contact_id=amal.pk)
    target = webchat_unsign(token)
    assert target is not None and target.contact_id == amal.pk
    assert webchat_unsign(token[:-2] + "xx") is None
    assert webchat_unsign(token, max_age_days=-1) is None
    first = webchat_receive(tenant=scoped, account=web, contact=amal, text="Hi from the page",
                            nonce="n1")
    again = webchat_receive(tenant=scoped, account=web, contact=amal, text="Hi from the page",
                            nonce="n1")
    assert first.pk == again.pk and first.direction == "INBOUND"
    assert Message.objects.filter(tenant=scoped, direction="INBOUND").count() == 1


def test_due_tasks_notify_the_assignee_once(tenant, scoped, agent,
                                            django_capture_on_commit_callbacks):
    from tend.messaging.staff_notifications import notify_due_tasks

    now = timezone.now()
    due = Task.objects.create(tenant=scoped, title="Call Amal back", assignee=agent,
                              due_at=now - timedelta(minutes=5))
    Task.objects.create(tenant=scoped, title="Later", assignee=agent,
                        due_at=now + timedelta(hours=1))
    Task.objects.create(tenant=scoped, title="Done", assignee=agent, status="DONE",
                        due_at=now - timedelta(minutes=5))
    Task.objects.create(tenant=scoped, title="Nobody's", due_at=now - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_due_tasks(now=now) == 1
        assert notify_due_tasks(now=now) == 0
    note = Notification.objects.get(tenant=scoped)
    assert (note.user_id, note.kind, note.title) == (agent.pk, "task.due",
                                                     "Task due: Call Amal back")
    assert len(mail.outbox) == 1
    # Moving the due time notifies again when the new time comes.
    Task.objects.filter(pk=due.pk).update(due_at=now + timedelta(minutes=10))
    assert notify_due_tasks(now=now + timedelta(minutes=11)) == 1


def test_due_tasks_are_notified_with_one_insert(scoped, agent, owner,
                                                django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tend.core.services.notifications import NotificationDraft, notifications_create_many
    from tend.messaging.staff_notifications import notify_due_tasks, task_due_key

    now = timezone.now()
    tasks = [Task.objects.create(tenant=scoped, title=f"Call {i}", assignee=who,
                                 due_at=now - timedelta(minutes=i + 1))
             for i, who in enumerate((agent, owner, agent, owner, agent))]
    # One of them was notified a moment ago by another worker (after this one read).
    [early] = notifications_create_many(tenant=scoped, drafts=[NotificationDraft(
        user=agent, kind="task.due", title="Task due: Call 0",
        dedupe_key=task_due_key(tasks[0]))])
    assert notifications_create_many(tenant=scoped, drafts=[NotificationDraft(
        user=agent, kind="task.due", title="again", dedupe_key=early.dedupe_key)]) == []
    with CaptureQueriesContext(connection) as queries, \
            django_capture_on_commit_callbacks(execute=True):
        assert notify_due_tasks(now=now) == 4
    inserts = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith("INSERT") and "core_notification" in q["sql"]]
    assert len(inserts) == 1
    assert sorted(Notification.objects.filter(tenant=scoped).values_list("title", flat=True)
                  ) == ["Task due: Call 0", "Task due: Call 1", "Task due: Call 2",
                        "Task due: Call 3", "Task due: Call 4"]


# --- pages -------------------------------------------------------------------------------


def _url(name, **kw):
    return reverse(f"messaging:{name}", kwargs={"org_slug": "acme", **kw})


def _conversations(tenant, account, n):
    with tenant_scope(tenant):
        for i in range(n):
            contact = Contact.objects.create(tenant=tenant, first_name=f"P{i}",
                                             display_name=f"Person {i}")
            _inbound(tenant, account, contact, f"message {i}", n=i)


def test_inbox_list_runs_a_fixed_number_of_queries(tenant, owner):
    with tenant_scope(tenant):
        account = _account(tenant)
    client = signed_in(owner)
    _conversations(tenant, account, 2)
    client.get(_url("inbox"))
    with CaptureQueriesContext(connection) as few:
        response = client.get(_url("inbox"))
    assert response.status_code == 200
    _conversations(tenant, account, 8)
    with CaptureQueriesContext(connection) as many:
        response = client.get(_url("inbox"))
    body = response.content.decode()
    assert "Person 7" in body and 'id="view-all"' in body
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as poll:
        client.get(_url("inbox-list"))
    assert len(poll) <= len(few)


def test_inbox_filters_and_counts(tenant, owner, agent):
    with tenant_scope(tenant):
        account = _account(tenant)
        wa = _account(tenant, "WHATSAPP", "WhatsApp")
        a = Contact.objects.create(tenant=tenant, display_name="Amal Haddad")
        b = Contact.objects.create(tenant=tenant, display_name="Badr Salem")
        ca = _inbound(tenant, account, a, "hi a").conversation
        _inbound(tenant, wa, b, "hi b", n=1)
        conversation_assign(tenant=tenant, actor=SYSTEM, conversation=ca, assignee=owner)
    client = signed_in(owner)
    mine = client.get(_url("inbox"), {"view": "mine"}).content.decode()
    assert "Amal Haddad" in mine and "Badr Salem" not in mine
    assert 'id="view-mine" href' in mine and '<span class="count">1</span>' in mine
    by_channel = client.get(_url("inbox"), {"channel": "WHATSAPP"}).content.decode()
    assert "Badr Salem" in by_channel and "Amal Haddad" not in by_channel
    search = client.get(_url("inbox"), {"q": "badr"}).content.decode()
    assert "Badr Salem" in search and "Amal Haddad" not in search
    # The page and the API read the same filters; the page forgives an unknown value, the
    # API names it.
    by_account = client.get(_url("inbox"), {"account_id": str(wa.pk), "view": "odd"})
    assert by_account.status_code == 200
    assert "Badr Salem" in by_account.content.decode()
    assert "Amal Haddad" not in by_account.content.decode()
    api = client.get("/api/v1/conversations", {"account_id": str(wa.pk)}).json()["items"]
    assert [row["contact"]["display_name"] for row in api] == ["Badr Salem"]
    bad = client.get("/api/v1/conversations", {"view": "odd"})
    assert bad.status_code == 422
    assert [(e["field"], e["message"]) for e in bad.json()["errors"]] == [
        ("view", "Use all, mine or unassigned.")]


def test_thread_reply_assign_resolve_and_poll(tenant, owner, agent):
    with tenant_scope(tenant):
        account = _account(tenant)
        amal = Contact.objects.create(tenant=tenant, display_name="Amal Haddad")
        conversation = _inbound(tenant, account, amal, "Is the course open?").conversation
    client = signed_in(owner)
    page = client.get(_url("inbox-thread", conversation_id=conversation.pk))
    body = page.content.decode()
    assert page.status_code == 200 and "Is the course open?" in body
    _refresh(tenant, conversation)
    assert conversation.unread_count == 0
    reply = client.post(_url("inbox-reply", conversation_id=conversation.pk),
                        {"body": "Yes, it is."}, HTTP_HX_REQUEST="true")
    assert reply.status_code == 200 and reply["HX-Trigger"] == "thread-changed"
    empty = client.post(_url("inbox-reply", conversation_id=conversation.pk), {"body": ""},
                        HTTP_HX_REQUEST="true")
    assert empty.status_code == 422 and "Write a message." in empty.content.decode()
    thread = client.get(_url("inbox-messages", conversation_id=conversation.pk))
    text = thread.content.decode()
    assert "Yes, it is." in text
    version = thread.content.decode().split('data-version="')[1].split('"')[0]
    unchanged = client.get(_url("inbox-messages", conversation_id=conversation.pk),
                           {"v": version})
    assert unchanged.status_code == 204
    with tenant_scope(tenant):
        message = Message.objects.get(tenant=tenant, direction="OUTBOUND")
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.QUEUED,
                                                     provider_message_id="pm-1")
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENT)
        message_apply_status(tenant=tenant, account=account, update=StatusUpdate(
            provider_message_id="pm-1", status=MessageStatus.DELIVERED))
    changed = client.get(_url("inbox-messages", conversation_id=conversation.pk),
                         {"v": version})
    assert changed.status_code == 200 and 'data-status="DELIVERED"' in changed.content.decode()
    assign = client.post(_url("inbox-assign", conversation_id=conversation.pk),
                         {"assignee": str(agent.pk)})
    assert assign.status_code == 302
    resolve = client.post(_url("inbox-resolve", conversation_id=conversation.pk))
    assert resolve.status_code == 302
    _refresh(tenant, conversation)
    assert conversation.assignee_id == agent.pk
    assert conversation.status == ConversationStatus.RESOLVED
    client.post(_url("inbox-reopen", conversation_id=conversation.pk))
    client.post(_url("inbox-snooze", conversation_id=conversation.pk), {"preset": "1h"})
    _refresh(tenant, conversation)
    assert conversation.status == ConversationStatus.SNOOZED


def test_viewer_cannot_reply(tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    with tenant_scope(tenant):
        account = _account(tenant)
        amal = Contact.objects.create(tenant=tenant, display_name="Amal")
        conversation = _inbound(tenant, account, amal, "hi").conversation
    client = signed_in(viewer)
    page = client.get(_url("inbox-thread", conversation_id=conversation.pk))
    assert page.status_code == 200 and 'id="reply-body"' not in page.content.decode()
    assert client.post(_url("inbox-reply", conversation_id=conversation.pk),
                       {"body": "x"}).status_code == 403


def test_chat_page_shows_the_thread_and_takes_replies(tenant, owner):
    with tenant_scope(tenant):
        account = _account(tenant)
        amal = Contact.objects.create(tenant=tenant, display_name="Amal", language="ar")
        conversation = _inbound(tenant, account, amal, "first").conversation
        conversation_reply(tenant=tenant, actor=SYSTEM, conversation=conversation,
                           body="Welcome!")
        path = webchat_path(tenant_id=tenant.pk, account_id=account.pk, contact_id=amal.pk)
    from django.test import Client

    anonymous = Client()
    page = anonymous.get(path)
    assert page.status_code == 200
    assert "Welcome!" in page.content.decode() and 'dir="rtl"' in page.content.decode()
    nonce = page.content.decode().split('name="nonce" value="')[1].split('"')[0]
    sent = anonymous.post(path, {"body": "Thank you", "nonce": nonce})
    assert sent.status_code == 302
    assert anonymous.post(path, {"body": "Thank you", "nonce": nonce}).status_code == 302
    with tenant_scope(tenant):
        inbound = list(Message.objects.filter(tenant=tenant, direction="INBOUND")
                       .values_list("body", flat=True))
    assert inbound == ["first", "Thank you"]
    assert anonymous.get(path[:-3] + "xx/").status_code == 404
    # Staff see the contact's words in the inbox, and the contact page offers the link.
    client = signed_in(owner)
    thread = client.get(_url("inbox-thread", conversation_id=conversation.pk)).content.decode()
    assert "Thank you" in thread
    contact_page = client.get(reverse("people:contacts-detail", kwargs={
        "org_slug": "acme", "contact_id": amal.pk})).content.decode()
    assert 'id="contact-conversations"' in contact_page and "/chat/" in contact_page


# --- API ---------------------------------------------------------------------------------


def test_api_list_get_messages_reply_and_state_changes(tenant, owner, agent):
    with tenant_scope(tenant):
        account = _account(tenant)
        amal = Contact.objects.create(tenant=tenant, display_name="Amal Haddad")
        conversation = _inbound(tenant, account, amal, "hello").conversation
        for i in range(3):
            c = Contact.objects.create(tenant=tenant, display_name=f"Other {i}")
            _inbound(tenant, account, c, "x", n=10 + i)
    client = signed_in(owner, tenant)
    first = client.get("/api/v1/conversations?limit=2").json()
    second = client.get(f"/api/v1/conversations?limit=2&cursor={first['next_cursor']}").json()
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(ids) == 4 == len(set(ids)) and second["next_cursor"] is None
    search = client.get("/api/v1/conversations?q=amal").json()["items"]
    assert [c["contact"]["display_name"] for c in search] == ["Amal Haddad"]
    assert search[0]["templates_only"] is False
    cid = str(conversation.pk)
    assert client.get(f"/api/v1/conversations/{cid}").json()["unread_count"] == 1
    reply = client.post(f"/api/v1/conversations/{cid}/reply", {"body": "Hi!"},
                        content_type="application/json")
    assert reply.status_code == 201 and reply.json()["status"] == "QUEUED"
    bad = client.post(f"/api/v1/conversations/{cid}/reply", {"body": ""},
                      content_type="application/json")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body"
    messages = client.get(f"/api/v1/conversations/{cid}/messages").json()["items"]
    assert [(m["direction"], m["body"]) for m in messages] == [("INBOUND", "hello"),
                                                               ("OUTBOUND", "Hi!")]
    assigned = client.post(f"/api/v1/conversations/{cid}/assign",
                           {"assignee_id": str(agent.pk)}, content_type="application/json")
    assert assigned.json()["assignee"]["email"] == "agent@example.com"
    counts = client.get("/api/v1/conversations/counts").json()
    assert counts == {"all": 4, "mine": 0, "unassigned": 3, "unread": 3}
    until = (timezone.now() + timedelta(days=1)).isoformat()
    assert client.post(f"/api/v1/conversations/{cid}/snooze", {"until": until},
                       content_type="application/json").json()["status"] == "SNOOZED"
    assert client.post(f"/api/v1/conversations/{cid}/resolve").json()["status"] == "RESOLVED"
    assert client.post(f"/api/v1/conversations/{cid}/reopen").json()["status"] == "OPEN"
    resolved = client.get("/api/v1/conversations?status=RESOLVED").json()["items"]
    assert resolved == []
    with tenant_scope(tenant):
        failed = Message.objects.get(tenant=tenant, direction="OUTBOUND")
        Message.objects.filter(pk=failed.pk).update(status=MessageStatus.FAILED, error="boom")
    retried = client.post(f"/api/v1/conversations/{cid}/messages/{failed.pk}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "QUEUED"


def test_capped_counts_stop_at_the_cap(scoped, web, owner):
    from tend.messaging.selectors.conversations import InboxFilters, conversation_counts

    for i in range(3):
        contact = Contact.objects.create(tenant=scoped, display_name=f"C{i}")
        _inbound(scoped, web, contact, "x", n=i)
    filters = InboxFilters()
    assert conversation_counts(tenant=scoped, user=owner, filters=filters) == {
        "all": 3, "mine": 0, "unassigned": 3, "unread": 3}
    assert conversation_counts(tenant=scoped, user=owner, filters=filters, cap=2) == {
        "all": 2, "mine": 0, "unassigned": 2, "unread": 2}
