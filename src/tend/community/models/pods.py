"""Models of community's pods part (The Progress Method): the matching profile of a person,
pods and their memberships, meetings with attendance, commitments with check-ins, and goals."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.core.models.base import TenantModel

__all__ = [
    "Commitment",
    "CommitmentCheckIn",
    "CommitmentStatus",
    "ExperienceLevel",
    "Goal",
    "GoalStatus",
    "MatchingRun",
    "MeetingAttendance",
    "MeetingStatus",
    "MeetingStyle",
    "Pod",
    "PodMeeting",
    "PodMembership",
    "PodMembershipStatus",
    "PodStatus",
    "PodsProfile",
]


class ExperienceLevel(models.TextChoices):
    BEGINNER = "BEGINNER", _("Beginner")
    INTERMEDIATE = "INTERMEDIATE", _("Intermediate")
    ADVANCED = "ADVANCED", _("Advanced")


class MeetingStyle(models.TextChoices):
    SUPPORTIVE = "SUPPORTIVE", _("Supportive")
    DIRECT = "DIRECT", _("Direct")
    MIXED = "MIXED", _("Mixed")


class PodStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    PAUSED = "PAUSED", _("Paused")
    FULL = "FULL", _("Full")
    DISBANDED = "DISBANDED", _("Disbanded")


class PodMembershipStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    PAUSED = "PAUSED", _("Paused")
    LEFT = "LEFT", _("Left")


class MeetingStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED", _("Scheduled")
    COMPLETED = "COMPLETED", _("Completed")
    CANCELLED = "CANCELLED", _("Cancelled")


class CommitmentStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    COMPLETED = "COMPLETED", _("Completed")
    FAILED = "FAILED", _("Failed")
    PAUSED = "PAUSED", _("Paused")


class GoalStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    ACHIEVED = "ACHIEVED", _("Achieved")
    DROPPED = "DROPPED", _("Dropped")


class PodsProfile(TenantModel):
    """One row per person: what pod matching reads (goals, experience, meeting style,
    strengths, help needed, bio; the time zone is the contact's own column) and the
    engagement figures the commitment services keep (totals, streaks, last activity).
    `waiting` marks a person who wants a pod and has none yet."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="pods_profile")
    goals_category = models.CharField(_("goals category"), max_length=40, blank=True)
    experience_level = models.CharField(_("experience level"), max_length=20, blank=True,
                                        choices=ExperienceLevel.choices)
    meeting_style = models.CharField(_("preferred meeting style"), max_length=20, blank=True,
                                     choices=MeetingStyle.choices)
    strengths = models.JSONField(_("strengths"), default=list, blank=True)
    help_needed = models.JSONField(_("help needed"), default=list, blank=True)
    bio = models.TextField(_("bio"), blank=True)
    waiting = models.BooleanField(_("waiting for a pod"), default=False)
    total_commitments = models.PositiveIntegerField(default=0)
    completed_commitments = models.PositiveIntegerField(default=0)
    active_commitments = models.PositiveIntegerField(default=0)
    current_streak = models.PositiveIntegerField(default=0)
    longest_streak = models.PositiveIntegerField(default=0)
    last_done_on = models.DateField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "contact"],
                                               name="community_pprof_contact")]
        indexes = [models.Index(fields=["tenant", "waiting"], name="community_pprof_waiting")]


class Pod(TenantModel):
    """A small group meeting weekly at `time` on `day_of_week` (1 Monday … 7 Sunday) in
    `time_zone`. Health figures are recomputed from meetings and commitments by
    `pod_refresh_health`; `member_count` is kept by the membership services under a row lock
    on the pod, so `capacity` holds under concurrency."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    day_of_week = models.PositiveSmallIntegerField(_("day of week"), default=1)
    time = models.TimeField(_("time"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=60)
    meeting_link = models.URLField(_("meeting link"), blank=True, max_length=500)
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=6)
    member_count = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(_("status"), max_length=20, choices=PodStatus.choices,
                              default=PodStatus.ACTIVE)
    target_goals_category = models.CharField(max_length=40, blank=True)
    target_experience_level = models.CharField(max_length=20, blank=True,
                                               choices=ExperienceLevel.choices)
    target_utc_offset_min = models.SmallIntegerField(null=True, blank=True)
    target_utc_offset_max = models.SmallIntegerField(null=True, blank=True)
    attendance_rate = models.FloatField(null=True, blank=True)
    completion_rate = models.FloatField(null=True, blank=True)
    satisfaction = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=models.Q(day_of_week__gte=1,
                                                                 day_of_week__lte=7),
                                              name="community_pod_day")]

    def __str__(self) -> str:
        return self.name


class PodMembership(TenantModel):
    """A person's place in a pod. One row per (pod, person); leaving keeps the row (status
    LEFT, `left_at`), joining again reopens it."""

    pod = models.ForeignKey(Pod, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="pod_memberships")
    status = models.CharField(max_length=20, choices=PodMembershipStatus.choices,
                              default=PodMembershipStatus.ACTIVE)
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    meetings_attended = models.PositiveIntegerField(default=0)
    meetings_missed = models.PositiveIntegerField(default=0)
    contribution_score = models.FloatField(null=True, blank=True)
    payment_active = models.BooleanField(default=False)
    last_payment_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "pod", "contact"],
                                               name="community_podmember_unique")]


class PodMeeting(TenantModel):
    """One meeting of a pod, generated from its schedule (unique per pod and start)."""

    pod = models.ForeignKey(Pod, on_delete=models.CASCADE, related_name="meetings")
    scheduled_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    status = models.CharField(max_length=20, choices=MeetingStatus.choices,
                              default=MeetingStatus.SCHEDULED)
    agenda = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    action_items = models.JSONField(default=list, blank=True)
    energy_level = models.PositiveSmallIntegerField(null=True, blank=True)
    attendance_rate = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["scheduled_at"]
        constraints = [models.UniqueConstraint(fields=["tenant", "pod", "scheduled_at"],
                                               name="community_podmeeting_unique")]


class MeetingAttendance(TenantModel):
    """Whether one member was at one meeting, how they rated it (1 to 5), and where the record
    came from (staff, bot, import)."""

    meeting = models.ForeignKey(PodMeeting, on_delete=models.CASCADE,
                                related_name="attendance")
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="pod_attendance")
    attended = models.BooleanField()
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=20, default="staff")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "meeting", "contact"],
                                               name="community_attendance_unique")]


class Goal(TenantModel):
    """A long-term goal (90 days, a year) that commitments work toward."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="pod_goals")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    target_date = models.DateField(null=True, blank=True)
    category = models.CharField(max_length=40, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=20, choices=GoalStatus.choices,
                              default=GoalStatus.ACTIVE)
    summaries = models.JSONField(default=list, blank=True)


class Commitment(TenantModel):
    """What a person commits to, as analyzed (`text`) and as first written
    (`original_text`), with its SMART score and the analyzer's explanations."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="commitments")
    text = models.TextField()
    original_text = models.TextField(blank=True)
    smart_score = models.PositiveSmallIntegerField(default=1)
    smart_checks = models.JSONField(default=dict, blank=True)
    category = models.CharField(max_length=40, blank=True)
    difficulty = models.PositiveSmallIntegerField(default=3)
    estimated_minutes = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=CommitmentStatus.choices,
                              default=CommitmentStatus.ACTIVE)
    completed_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    goal = models.ForeignKey(Goal, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="commitments")
    shared_with_pod = models.BooleanField(default=False)
    pod = models.ForeignKey(Pod, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="commitments")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(smart_score__gte=1,
                                                                 smart_score__lte=10),
                                              name="community_commitment_smart")]


class CommitmentCheckIn(TenantModel):
    """A day's report on a commitment: done or not, with a note. One per commitment and day."""

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE,
                                   related_name="checkins")
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="commitment_checkins")
    day = models.DateField()
    done = models.BooleanField()
    note = models.TextField(blank=True)
    source = models.CharField(max_length=20, default="staff")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "commitment", "day"],
                                               name="community_checkin_unique")]


class MatchingRun(TenantModel):
    """A proposed pod assignment for the people waiting, kept for review: `proposal` holds
    `assignments` (contact id, pod id or new-pod key, score, reasons), `new_pods` (key,
    name, time zone, goal) and `unmatched`. Staff adjust it, then confirm it once."""

    status = models.CharField(max_length=20, default="DRAFT")
    proposal = models.JSONField(default=dict)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
