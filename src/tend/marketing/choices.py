"""Choice lists of the marketing module."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SegmentType(models.TextChoices):
    STATIC = "STATIC", _("Static list")
    DYNAMIC = "DYNAMIC", _("Dynamic (rules)")
    IMPORT = "IMPORT", _("From an import")


class RefreshFrequency(models.TextChoices):
    MANUAL = "MANUAL", _("Only when asked")
    HOURLY = "HOURLY", _("Every hour")
    DAILY = "DAILY", _("Every day")
    WEEKLY = "WEEKLY", _("Every week")


class MembershipSource(models.TextChoices):
    RULE = "RULE", _("Matched the rules")
    MANUAL = "MANUAL", _("Added by hand")
    IMPORT = "IMPORT", _("Imported")
    API = "API", _("Added through the API")
    BULK = "BULK", _("Added from the contacts list")


class RefreshTrigger(models.TextChoices):
    CREATED = "CREATED", _("Created")
    MANUAL = "MANUAL", _("Asked for")
    SCHEDULE = "SCHEDULE", _("Schedule")
    RULE_CHANGED = "RULE_CHANGED", _("Rules changed")
    MEMBERS = "MEMBERS", _("Members added or removed")
    BULK = "BULK", _("Many contacts changed")
