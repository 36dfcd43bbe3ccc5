"""Choice lists of the people module."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    INACTIVE = "INACTIVE", _("Inactive")
    MERGED = "MERGED", _("Merged")
    DELETED = "DELETED", _("Deleted")


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "SUBSCRIBER", _("Subscriber")
    LEAD = "LEAD", _("Lead")
    PROSPECT = "PROSPECT", _("Prospect")
    CUSTOMER = "CUSTOMER", _("Customer")
    MEMBER = "MEMBER", _("Member")
    ADVOCATE = "ADVOCATE", _("Advocate")
    CHURNED = "CHURNED", _("Churned")


class Gender(models.TextChoices):
    FEMALE = "FEMALE", _("Female")
    MALE = "MALE", _("Male")
    OTHER = "OTHER", _("Other")
    UNDISCLOSED = "UNDISCLOSED", _("Prefers not to say")


class AliasType(models.TextChoices):
    EMAIL = "EMAIL", _("Email")
    PHONE = "PHONE", _("Phone")
    TELEGRAM = "TELEGRAM", _("Telegram")
    WHATSAPP = "WHATSAPP", _("WhatsApp")
    AUTH_USER = "AUTH_USER", _("Staff account")
    EXTERNAL = "EXTERNAL", _("External id")


class ActivityCategory(models.TextChoices):
    """Built-in categories; `Activity.category` is a free string so modules may add more."""

    MEMBERSHIP = "MEMBERSHIP", _("Membership")
    BOOKING = "BOOKING", _("Booking")
    COMMUNICATION = "COMMUNICATION", _("Communication")
    ENGAGEMENT = "ENGAGEMENT", _("Engagement")
    FINANCIAL = "FINANCIAL", _("Financial")
    MARKETING = "MARKETING", _("Marketing")
    SUPPORT = "SUPPORT", _("Support")
    SOCIAL = "SOCIAL", _("Social")
    SYSTEM = "SYSTEM", _("System")
    COMMUNITY = "COMMUNITY", _("Community")
    EVENTS = "EVENTS", _("Events")
    SALES = "SALES", _("Sales")


class NoteType(models.TextChoices):
    GENERAL = "GENERAL", _("General")
    SUPPORT = "SUPPORT", _("Support")
    COMPLAINT = "COMPLAINT", _("Complaint")
    FEEDBACK = "FEEDBACK", _("Feedback")
    FOLLOWUP = "FOLLOWUP", _("Follow-up")
    INTERNAL = "INTERNAL", _("Internal")
    MARKETING = "MARKETING", _("Marketing")
    SALES = "SALES", _("Sales")


class InteractionChannel(models.TextChoices):
    TELEGRAM = "TELEGRAM", _("Telegram")
    PHONE = "PHONE", _("Phone")
    IN_PERSON = "IN_PERSON", _("In person")
    EMAIL = "EMAIL", _("Email")
    WHATSAPP = "WHATSAPP", _("WhatsApp")
    OTHER = "OTHER", _("Other")


class Direction(models.TextChoices):
    INBOUND = "INBOUND", _("Inbound")
    OUTBOUND = "OUTBOUND", _("Outbound")


class TaskStatus(models.TextChoices):
    OPEN = "OPEN", _("Open")
    DONE = "DONE", _("Done")
    CANCELLED = "CANCELLED", _("Cancelled")


class TaskPriority(models.TextChoices):
    LOW = "LOW", _("Low")
    NORMAL = "NORMAL", _("Normal")
    HIGH = "HIGH", _("High")


class ConsentChannel(models.TextChoices):
    EMAIL = "EMAIL", _("Email")
    SMS = "SMS", _("SMS")
    WHATSAPP = "WHATSAPP", _("WhatsApp")
    TELEGRAM = "TELEGRAM", _("Telegram")
    PHONE = "PHONE", _("Phone calls")
    PUSH = "PUSH", _("Push notifications")
    WEB = "WEB", _("In-app and web chat")


class ConsentPurpose(models.TextChoices):
    MARKETING = "MARKETING", _("Marketing")
    TRANSACTIONAL = "TRANSACTIONAL", _("Transactional")


class ConsentStatus(models.TextChoices):
    GRANTED = "GRANTED", _("Granted")
    REVOKED = "REVOKED", _("Revoked")
    PENDING = "PENDING", _("Pending")


class IngestionStatus(models.TextChoices):
    RECEIVED = "RECEIVED", _("Received")
    PROCESSED = "PROCESSED", _("Processed")
    DUPLICATE = "DUPLICATE", _("Duplicate")
    FAILED = "FAILED", _("Failed")


class MatchType(models.TextChoices):
    EMAIL = "EMAIL", _("Same email")
    PHONE = "PHONE", _("Same phone")
    NAME = "NAME", _("Similar name")
    IDENTIFIERS = "IDENTIFIERS", _("Identifiers point at both")


class DuplicateResolution(models.TextChoices):
    PENDING = "PENDING", _("Pending")
    MERGED = "MERGED", _("Merged")
    NOT_DUPLICATE = "NOT_DUPLICATE", _("Not a duplicate")
    IGNORED = "IGNORED", _("Ignored")


class ImportMode(models.TextChoices):
    UPDATE = "UPDATE", _("Update existing contacts")
    FILL_BLANKS = "FILL_BLANKS", _("Only fill empty fields")
    SKIP = "SKIP", _("Skip existing contacts")


class ImportStatus(models.TextChoices):
    UPLOADED = "UPLOADED", _("Uploaded")
    MAPPED = "MAPPED", _("Mapped")
    RUNNING = "RUNNING", _("Running")
    SUCCEEDED = "SUCCEEDED", _("Succeeded")
    FAILED = "FAILED", _("Failed")
    CANCELLED = "CANCELLED", _("Cancelled")
