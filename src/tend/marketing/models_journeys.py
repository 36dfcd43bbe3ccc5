"""Models of marketing's journeys (imported by `tend.marketing.models` so Django registers them).

A journey is a graph of steps a contact walks through, one enrollment per walk. Steps belong
to a version of the journey: editing a journey that has enrollments writes a new version, and
running enrollments keep the steps of the version they started on.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel

__all__ = [
    "EnrollmentStatus",
    "Journey",
    "JourneyEnrollment",
    "JourneyEnrollmentStep",
    "JourneyKind",
    "JourneyStatus",
    "JourneyStep",
    "StepResult",
    "StepType",
    "TriggerType",
]


class JourneyStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    ACTIVE = "ACTIVE", _("Active")
    PAUSED = "PAUSED", _("Paused")
    ARCHIVED = "ARCHIVED", _("Archived")


class JourneyKind(models.TextChoices):
    JOURNEY = "JOURNEY", _("Journey")
    SEQUENCE = "SEQUENCE", _("Sequence")


class TriggerType(models.TextChoices):
    MANUAL = "MANUAL", _("Manual or API enrollment")
    ACTIVITY = "ACTIVITY", _("An activity happens")
    SEGMENT_ENTERED = "SEGMENT_ENTERED", _("Enters a segment")
    SEGMENT_LEFT = "SEGMENT_LEFT", _("Leaves a segment")
    DATE = "DATE", _("A date comes round")


class StepType(models.TextChoices):
    TRIGGER = "TRIGGER", _("Trigger")
    SEND = "SEND", _("Send a message")
    WAIT = "WAIT", _("Wait")
    CONDITION = "CONDITION", _("Condition")
    SPLIT = "SPLIT", _("Split (A/B)")
    UPDATE = "UPDATE", _("Update the contact")
    CREATE_TASK = "CREATE_TASK", _("Create a task")
    WEBHOOK = "WEBHOOK", _("Call a webhook")
    END = "END", _("End")


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    COMPLETED = "COMPLETED", _("Completed")
    EXITED = "EXITED", _("Exited")
    FAILED = "FAILED", _("Failed")


class StepResult(models.TextChoices):
    COMPLETED = "COMPLETED", _("Done")
    WAITING = "WAITING", _("Waiting")
    SKIPPED = "SKIPPED", _("Skipped")
    FAILED = "FAILED", _("Failed")


class Journey(TenantModel):
    """An automation a contact walks through: a trigger, then steps.

    `trigger_type` + `trigger_config` say who enters (`trigger_key` is the indexed part the
    trigger receivers look up: the activity type, the segment id, the date field).
    `version` is the version of the steps new enrollments start on; it grows when the steps
    of a journey that already has enrollments are edited. Only ACTIVE journeys enroll and
    advance; PAUSED ones keep their enrollments where they are. The counters are kept by the
    engine in the transaction of each change (`total_*`)."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=JourneyKind.choices,
                            default=JourneyKind.JOURNEY)
    status = models.CharField(_("status"), max_length=10, choices=JourneyStatus.choices,
                              default=JourneyStatus.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    trigger_type = models.CharField(_("trigger"), max_length=20, choices=TriggerType.choices,
                                    default=TriggerType.MANUAL)
    trigger_key = models.CharField(max_length=200, blank=True)
    trigger_config = models.JSONField(_("trigger settings"), default=dict, blank=True)
    allow_reentry = models.BooleanField(_("allow re-entry"), default=False)
    max_enrollments = models.PositiveIntegerField(_("most active enrollments"), null=True,
                                                  blank=True)
    total_enrolled = models.PositiveIntegerField(default=0)
    total_completed = models.PositiveIntegerField(default=0)
    total_exited = models.PositiveIntegerField(default=0)
    total_failed = models.PositiveIntegerField(default=0)
    activated_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="marketing_journey_name"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "trigger_type", "trigger_key"],
                         name="marketing_journey_trigger"),
        ]

    def __str__(self) -> str:
        return self.name


class JourneyStep(TenantModel):
    """One step of one version of a journey.

    `key` names the step inside its journey (stable across versions; the links `next_key`,
    `yes_key` and `no_key` name other steps of the same version; a SPLIT's branches are in
    `config["variants"]`). `config` depends on `type` (see docs/journeys.md): SEND
    `{"channel", "templateId"}`, WAIT `{"duration"}` or `{"until"}` or
    `{"untilRule", "timeout"}`, CONDITION `{"rules", "combinator"}`, SPLIT
    `{"variants": [{"name", "weight", "next"}]}`, UPDATE `{"action", "field", "value"}`."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    version = models.PositiveIntegerField(default=1)
    key = models.CharField(max_length=40)
    position = models.PositiveIntegerField(default=0)
    type = models.CharField(_("type"), max_length=12, choices=StepType.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    config = models.JSONField(default=dict, blank=True)
    next_key = models.CharField(max_length=40, blank=True)
    yes_key = models.CharField(max_length=40, blank=True)
    no_key = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["journey", "version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "journey", "version", "key"],
                                    name="marketing_journeystep_key"),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.get_type_display()} ({self.key})"


class JourneyEnrollment(TenantModel):
    """One walk of one contact through one version of a journey.

    ACTIVE enrollments with `waiting_until` in the past are due: the engine claims them
    (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL) and advances them to the next WAIT or
    the end, writing each step's effect, its history row and the new position in one
    transaction. `steps_taken` numbers the history rows, so a step is recorded once per
    visit. `entry_key` makes a trigger idempotent (the activity id, the date)."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrollments")
    version = models.PositiveIntegerField(default=1)
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE, related_name="+")
    current_step = models.ForeignKey(JourneyStep, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=EnrollmentStatus.choices,
                              default=EnrollmentStatus.ACTIVE)
    waiting_until = models.DateTimeField(_("next step at"), null=True, blank=True)
    wait_started_at = models.DateTimeField(null=True, blank=True)
    steps_taken = models.PositiveIntegerField(default=0)
    enrolled_at = models.DateTimeField(_("enrolled"))
    completed_at = models.DateTimeField(null=True, blank=True)
    exited_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(_("exit reason"), max_length=200, blank=True)
    entry_key = models.CharField(max_length=200, blank=True)
    trigger_data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "journey", "contact"],
                                    condition=models.Q(status="ACTIVE"),
                                    name="marketing_enrollment_one_active"),
            models.UniqueConstraint(fields=["tenant", "journey", "entry_key"],
                                    condition=~models.Q(entry_key=""),
                                    name="marketing_enrollment_entry"),
        ]
        indexes = [
            models.Index(fields=["waiting_until"], condition=models.Q(status="ACTIVE"),
                         name="marketing_enrollment_due"),
            models.Index(fields=["tenant", "contact"], name="marketing_enrollment_contact"),
            models.Index(fields=["journey", "status"], name="marketing_enrollment_journey"),
        ]

    @property
    def current_step_key(self) -> str | None:
        """The key of the step the enrollment is on (loads the step unless selected)."""
        step = self.current_step if self.current_step_id else None
        return step.key if step is not None else None


class JourneyEnrollmentStep(TenantModel):
    """The history of an enrollment: one row per step visited, with what it did (`result`:
    the message id of a SEND, the branch taken, the field changed…). Written in the
    transaction of the step's effect."""

    # The engine writes a row per step for every enrollment it moves, so no index is kept
    # that another one already covers: the tenant's by the (tenant, enrollment, seq)
    # constraint, the step's by the (step, status) index.
    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    enrollment = models.ForeignKey(JourneyEnrollment, on_delete=models.CASCADE,
                                   related_name="history")
    step = models.ForeignKey(JourneyStep, on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    seq = models.PositiveIntegerField()
    step_key = models.CharField(max_length=40)
    step_type = models.CharField(max_length=12, choices=StepType.choices)
    status = models.CharField(max_length=10, choices=StepResult.choices)
    result = models.JSONField(default=dict, blank=True)
    entered_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["enrollment", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "enrollment", "seq"],
                                    name="marketing_enrollmentstep_seq"),
        ]
        indexes = [models.Index(fields=["step", "status"], name="marketing_enrollstep_step")]
