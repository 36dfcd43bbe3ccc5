"""Isolation entries for the contact page's API: timeline, notes, interactions, tasks,
consents. The victim gets a contact with one of each, all named with canaries."""

from datetime import date, timedelta

from django.utils import timezone

from tend.core.tests.isolation import register, victim_builder
from tend.people.models import (
    Activity,
    Consent,
    ConsentEvent,
    Contact,
    Interaction,
    Note,
    Task,
)


@victim_builder
def _contact_page(v, c):
    v.page_contact = Contact.objects.create(
        tenant=v.tenant, first_name=c("page contact first"), last_name=c("page contact last"),
        display_name=c("page contact display"))
    v.note = Note.objects.create(tenant=v.tenant, contact=v.page_contact,
                                 body=c("note body"), author=v.owner)
    v.private_note = Note.objects.create(tenant=v.tenant, contact=v.page_contact,
                                         body=c("private note body"), author=v.member,
                                         is_private=True)
    v.interaction = Interaction.objects.create(
        tenant=v.tenant, contact=v.page_contact, channel="PHONE", summary=c("interaction"),
        outcome=c("interaction outcome"), follow_up_on=date(2030, 1, 1), staff=v.owner)
    v.task = Task.objects.create(tenant=v.tenant, title=c("task title"),
                                 description=c("task description"), assignee=v.owner,
                                 contact=v.page_contact,
                                 due_at=timezone.now() + timedelta(days=1))
    Activity.objects.create(tenant=v.tenant, contact=v.page_contact, type="EVENT_ATTENDED",
                            category="EVENTS", title=c("activity title"),
                            description=c("activity description"),
                            metadata={"where": c("activity metadata")})
    Consent.objects.create(tenant=v.tenant, contact=v.page_contact, channel="EMAIL",
                           purpose="MARKETING", status="GRANTED", source=c("consent source"))
    ConsentEvent.objects.create(tenant=v.tenant, contact=v.page_contact, channel="EMAIL",
                                purpose="MARKETING", status="GRANTED",
                                source=c("consent event source"), actor_label=c("consent by"))


contact = {"path": lambda v: {"contact_id": v.page_contact.pk}}
register("GET", "/api/v1/contacts/{contact_id}/timeline", **contact,
         query=lambda v: {"limit": 5})
register("GET", "/api/v1/contacts/{contact_id}/notes", **contact)
register("POST", "/api/v1/contacts/{contact_id}/notes", **contact,
         body=lambda v: {"body": "A new note", "type": "GENERAL"})
register("GET", "/api/v1/contacts/{contact_id}/interactions", **contact)
register("POST", "/api/v1/contacts/{contact_id}/interactions", **contact,
         body=lambda v: {"channel": "PHONE", "summary": "Called"})
register("GET", "/api/v1/contacts/{contact_id}/consents", **contact)
register("POST", "/api/v1/contacts/{contact_id}/consents", **contact,
         body=lambda v: {"channel": "SMS", "status": "GRANTED"})
register("GET", "/api/v1/contacts/{contact_id}/consents/history", **contact)

note = {"path": lambda v: {"note_id": v.note.pk}}
register("GET", "/api/v1/notes/{note_id}", **note)
register("PATCH", "/api/v1/notes/{note_id}", **note, body=lambda v: {"body": "Changed"})
register("POST", "/api/v1/notes/{note_id}/pin", **note, body=lambda v: {"pinned": True})
register("DELETE", "/api/v1/notes/{note_id}", **note)

# Lists and creations act on the caller's own organization; naming the victim's contact or
# member in a body is a field error (422).
register("GET", "/api/v1/tasks", targets_victim=False, query=lambda v: {"assignee": "me"})
register("POST", "/api/v1/tasks", targets_victim=True, also_ok=(422,),
         body=lambda v: {"title": "Call back", "contact_id": str(v.page_contact.pk),
                         "assignee_id": str(v.owner.pk)})
task = {"path": lambda v: {"task_id": v.task.pk}}
register("GET", "/api/v1/tasks/{task_id}", **task)
register("PATCH", "/api/v1/tasks/{task_id}", **task, body=lambda v: {"title": "Renamed"})
register("POST", "/api/v1/tasks/{task_id}/complete", **task)
register("POST", "/api/v1/tasks/{task_id}/reopen", **task)
register("DELETE", "/api/v1/tasks/{task_id}", **task)
