"""The event stream about people, and the touches staff log: notes, interactions, tasks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.people.choices import (
    ActivityCategory,
    Direction,
    InteractionChannel,
    NoteType,
    TaskPriority,
    TaskStatus,
)
from tend.people.models.contacts import Company, Contact


class Activity(TenantModel):
    """Something that happened to or by a person: the one event stream of Tend.

    Written by services in the same transaction as the change it records. Ingestion is
    idempotent: `(tenant, source, source_event_id)` is unique when `source_event_id` is set.
    `type` is a free upper-case string (`TICKET_PURCHASED`); modules register how their types
    render on the timeline. `related_type`/`related_id` point at the object it is about
    (e.g. `"people.note"`, a note's id) without a database-level foreign key.
    """

    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="activities")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="activities")
    type = models.CharField(_("type"), max_length=100)
    category = models.CharField(_("category"), max_length=30, blank=True)
    channel = models.CharField(_("channel"), max_length=30, blank=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    source_id = models.CharField(max_length=200, blank=True)
    source_event_id = models.CharField(max_length=200, null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    related_type = models.CharField(max_length=100, blank=True)
    related_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name_plural = _("activities")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "source", "source_event_id"],
                                    condition=Q(source_event_id__isnull=False),
                                    name="people_activity_unique_event"),
        ]
        indexes = [
            models.Index(fields=["tenant", "contact", "-occurred_at"],
                         name="people_activity_timeline"),
            models.Index(fields=["tenant", "company", "-occurred_at"],
                         name="people_activity_company"),
            models.Index(fields=["tenant", "type", "occurred_at"], name="people_activity_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d}"

    @property
    def category_label(self) -> str:
        """The category in the reader's language; a module's own category as written."""
        if self.category in ActivityCategory.values:
            return str(ActivityCategory(self.category).label)
        return self.category.replace("_", " ").title()


class Note(TenantModel):
    """A note about a contact or a company, in Markdown (rendered sanitized).

    A private note is visible only to its author.
    """

    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="notes")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="notes")
    type = models.CharField(_("type"), max_length=12, choices=NoteType.choices,
                            default=NoteType.GENERAL)
    body = models.TextField(_("note"))
    is_pinned = models.BooleanField(_("pinned"), default=False)
    is_private = models.BooleanField(_("private"), default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")

    class Meta:
        ordering = ["-is_pinned", "-created_at"]
        indexes = [models.Index(fields=["tenant", "contact", "-created_at"],
                                name="people_note_contact")]

    def __str__(self) -> str:
        return self.body[:50]


class Interaction(TenantModel):
    """A logged touch with a person (a call, a meeting, a message exchange), with an optional
    follow-up date. Logging one records an Activity and moves the contact's
    `last_contacted_at`; other modules listen through the `interaction_logged` signal."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="interactions")
    channel = models.CharField(_("channel"), max_length=12, choices=InteractionChannel.choices)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    summary = models.TextField(_("summary"))
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    flags = models.JSONField(_("flags"), default=list, blank=True)
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("by"))

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["tenant", "contact", "-occurred_at"],
                         name="people_interaction_contact"),
            models.Index(fields=["tenant", "follow_up_on"], name="people_interaction_followup"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.occurred_at:%Y-%m-%d}"


class Task(TenantModel):
    """A to-do for a staff member, optionally about a contact or a company."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("assignee"))
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices,
                              default=TaskStatus.OPEN)
    priority = models.CharField(_("priority"), max_length=8, choices=TaskPriority.choices,
                                default=TaskPriority.NORMAL)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="tasks")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="tasks")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_at"]
        indexes = [
            models.Index(fields=["tenant", "assignee", "status", "due_at"],
                         name="people_task_assignee"),
            models.Index(fields=["tenant", "contact"], name="people_task_contact"),
        ]

    def __str__(self) -> str:
        return self.title
