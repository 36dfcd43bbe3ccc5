"""Models of community's care part (am-crm): the unit tree and its memberships, traits,
mentor links, initiations, courses and lesson progress, practice status, and one summary row
per person that rules and the attention list read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.core.models.base import TenantModel

__all__ = [
    "CareSummary",
    "Course",
    "CourseLesson",
    "CourseStatus",
    "Initiation",
    "LessonProgress",
    "MentorLink",
    "PracticeChange",
    "PracticeStatus",
    "Regularity",
    "Unit",
    "UnitMembership",
    "UnitRole",
    "UserTrait",
]


class UnitRole(models.TextChoices):
    MEMBER = "MEMBER", _("Member")
    SECRETARY = "SECRETARY", _("Secretary")
    LEADER = "LEADER", _("Leader")


class Regularity(models.TextChoices):
    NONE = "NONE", _("No practice")
    IRREGULAR = "IRREGULAR", _("Irregular")
    WEEKLY = "WEEKLY", _("Weekly")
    DAILY = "DAILY", _("Daily")
    TWICE_DAILY = "TWICE_DAILY", _("Twice daily")


class CourseStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    PUBLISHED = "PUBLISHED", _("Published")


class Unit(TenantModel):
    """A node of the organization's unit tree (country → region → city, any depth).

    `path` is the materialized path: the parent's path plus this unit's id and a slash, so a
    subtree is `path LIKE '<unit path>%'`. Services keep it (moving a unit rewrites its
    subtree's paths)."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=40, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("parent"))
    path = models.CharField(max_length=1000)
    depth = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["path"]
        # Prefix matches (`path LIKE 'x%'`) need the pattern operator class on PostgreSQL.
        indexes = [models.Index(fields=["tenant", "path"], name="community_unit_path",
                                opclasses=["uuid_ops", "varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name


class UnitMembership(TenantModel):
    """A person's place in a unit, with a role and dates. Current when `until` is empty or
    after today. `scope_staff` limits the person's own staff account to the unit's subtree
    (meaningful for secretaries and leaders)."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="unit_memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=UnitRole.choices,
                            default=UnitRole.MEMBER)
    since = models.DateField(_("since"), default=timezone.localdate)
    until = models.DateField(_("until"), null=True, blank=True)
    scope_staff = models.BooleanField(_("limit their staff account to this unit"),
                                      default=False)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "unit", "until"], name="community_unitm_unit"),
            models.Index(fields=["tenant", "contact"], name="community_unitm_contact"),
        ]


class UserTrait(TenantModel):
    """A trait a person holds (mentor, acarya, facilitator…), optionally expiring."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="care_traits")
    trait = models.CharField(_("trait"), max_length=50)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "contact", "trait"],
                                               name="community_trait_unique")]
        indexes = [models.Index(fields=["tenant", "trait"], name="community_trait_trait")]


class MentorLink(TenantModel):
    """A mentor looking after a mentee. `last_contact_at` follows interactions and messages
    between them (kept by services from people's and messaging's signals)."""

    mentor = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                               related_name="mentee_links")
    mentee = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                               related_name="mentor_links")
    active = models.BooleanField(default=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "mentor", "active"], name="community_mentor_mentor"),
            models.Index(fields=["tenant", "mentee", "active"], name="community_mentor_mentee"),
        ]


class Initiation(TenantModel):
    """An initiation a person received (INITIATION, NAMA_MANTRA or an organization's own
    kind), from an acarya, on a date and at a place."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="initiations")
    kind = models.CharField(_("kind"), max_length=40)
    acarya = models.ForeignKey("people.Contact", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    date = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["date"]
        indexes = [models.Index(fields=["tenant", "contact"], name="community_init_contact")]


class Course(TenantModel):
    """A course of lessons. `min_interval_days` and `require_previous` decide when a person
    may receive the next lesson."""

    slug = models.SlugField(_("slug"), max_length=80)
    title = models.CharField(_("title"), max_length=200)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(_("status"), max_length=10, choices=CourseStatus.choices,
                              default=CourseStatus.DRAFT)
    min_interval_days = models.PositiveIntegerField(_("minimum days between lessons"),
                                                    default=0)
    require_previous = models.BooleanField(_("previous lesson required"), default=True)

    class Meta:
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"],
                                               name="community_course_slug")]

    def __str__(self) -> str:
        return self.title


class CourseLesson(TenantModel):
    """One lesson of a course, in `order` (1, 2, …)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    order = models.PositiveSmallIntegerField(_("order"))
    slug = models.SlugField(_("slug"), max_length=80)
    title = models.CharField(_("title"), max_length=200)
    body_md = models.TextField(_("body"), blank=True)
    est_minutes = models.PositiveIntegerField(_("minutes"), null=True, blank=True)

    class Meta:
        ordering = ["course", "order"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "course", "order"],
                                    name="community_lesson_order"),
            models.UniqueConstraint(fields=["tenant", "course", "slug"],
                                    name="community_lesson_slug"),
        ]

    def __str__(self) -> str:
        return self.title


class LessonProgress(TenantModel):
    """A lesson a person received, when and from whom."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="lesson_progress")
    lesson = models.ForeignKey(CourseLesson, on_delete=models.CASCADE, related_name="progress")
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    taught_by = models.ForeignKey("people.Contact", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "contact", "lesson"],
                                               name="community_progress_unique")]


class PracticeStatus(TenantModel):
    """A person's current practice regularity (history in `PracticeChange`)."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="practice_status")
    regularity = models.CharField(_("regularity"), max_length=12, choices=Regularity.choices)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "contact"],
                                               name="community_practice_contact")]


class PracticeChange(TenantModel):
    """One recorded practice status (append-only history), with where it came from."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="practice_changes")
    regularity = models.CharField(_("regularity"), max_length=12, choices=Regularity.choices)
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(max_length=20, default="staff")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["tenant", "contact", "-recorded_at"],
                                name="community_practice_hist")]


class CareSummary(TenantModel):
    """What rules and the attention list read about one person, in one row: current
    regularity, the last mentor contact (or the start of the mentorship when there was none
    yet; empty without an active mentor), lessons received, the last lesson and when the next
    one becomes allowed (empty when none is left). Services rewrite it after each change."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE,
                                related_name="care_summary")
    regularity = models.CharField(max_length=12, blank=True)
    mentor_contact_at = models.DateTimeField(null=True, blank=True)
    lessons_received = models.PositiveIntegerField(default=0)
    last_lesson_at = models.DateTimeField(null=True, blank=True)
    next_lesson_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "contact"],
                                               name="community_summary_contact")]
        indexes = [models.Index(fields=["tenant", "mentor_contact_at"],
                                name="community_summary_contact_at")]
