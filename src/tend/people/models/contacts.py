"""People and companies."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.people.choices import AliasType, ContactStatus, Gender, LifecycleStage


class Company(TenantModel):
    """An organization people belong to (a customer's employer, a sponsor, a partner)."""

    name = models.CharField(_("name"), max_length=200)
    # Names in other languages, e.g. {"ar": "…"}.
    names = models.JSONField(_("names in other languages"), default=dict, blank=True)
    sector = models.CharField(_("sector"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    registration_number = models.CharField(_("registration number"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    domain = models.CharField(_("domain"), max_length=253, blank=True, db_index=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("companies")
        indexes = [models.Index(fields=["tenant", "name"], name="people_company_name")]

    def __str__(self) -> str:
        return self.name


class Contact(TenantModel):
    """One person in one organization: the subject of the CRM.

    Identities (emails, phones, Telegram, WhatsApp, external ids) live in `IdentityAlias`;
    `primary_email`/`primary_phone` are denormalized copies of the primary aliases for lists and
    search. Metrics (`last_activity_at`, counts) and the `*_opt_in` flags are kept by services
    from activities and consent records: never edit them directly. A merged contact keeps its
    row with status MERGED and `merged_into`; a deleted one has `deleted_at` (soft delete).
    """

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    # False: display_name is computed from the names; True: set by a person.
    display_name_custom = models.BooleanField(default=False)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=12, choices=Gender.choices, blank=True)
    avatar = models.FileField(_("avatar"), upload_to="avatars/", blank=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state / province"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ContactStatus.choices,
                              default=ContactStatus.ACTIVE)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=12,
                                       choices=LifecycleStage.choices, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("owner"))
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="contacts", verbose_name=_("company"))
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    external_ids = models.JSONField(_("external ids"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)

    primary_email = models.CharField(max_length=254, blank=True)
    primary_phone = models.CharField(max_length=32, blank=True)

    engagement_score = models.PositiveSmallIntegerField(null=True, blank=True)
    churn_risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    scores_computed_at = models.DateTimeField(null=True, blank=True)
    lifetime_value_minor = models.BigIntegerField(default=0)
    lifetime_value_currency = models.CharField(max_length=3, blank=True)

    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_activity_type = models.CharField(max_length=100, blank=True)
    activity_count_30d = models.PositiveIntegerField(default=0)
    activity_count_90d = models.PositiveIntegerField(default=0)
    last_contacted_at = models.DateTimeField(null=True, blank=True)

    # Read-only copies of the MARKETING consent records, for fast audience queries.
    email_opt_in = models.BooleanField(default=False)
    sms_opt_in = models.BooleanField(default=False)
    whatsapp_opt_in = models.BooleanField(default=False)
    telegram_opt_in = models.BooleanField(default=False)
    web_opt_in = models.BooleanField(default=False)

    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    merged_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["display_name"]
        indexes = [
            models.Index(fields=["tenant", "display_name"], name="people_contact_name"),
            models.Index(fields=["tenant", "status"], name="people_contact_status"),
            models.Index(fields=["tenant", "last_activity_at"], name="people_contact_lastact"),
            models.Index(fields=["tenant", "-created_at"], name="people_contact_created"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.primary_email or self.primary_phone or str(self.pk)

    @property
    def is_live(self) -> bool:
        return self.status in (ContactStatus.ACTIVE, ContactStatus.INACTIVE) and not self.deleted_at


class ContactTag(TenantModel):
    """A tag on a contact (a link model, so the link itself is tenant-owned)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey("core.Tag", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contact", "tag"],
                                    name="people_contacttag_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "tag"], name="people_contacttag_tag")]


class IdentityAlias(TenantModel):
    """One way to recognise a contact: an email, a phone (E.164), a Telegram or WhatsApp id,
    a staff account, or an id in another system (`system` names it).

    `value` is normalized (emails lower-cased with an IDNA domain, phones in E.164 using the
    organization's default region) and unique per organization, type and system: one identity
    points at one contact.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="aliases")
    type = models.CharField(_("type"), max_length=10, choices=AliasType.choices)
    system = models.CharField(_("system"), max_length=50, blank=True)
    value = models.CharField(_("value"), max_length=254)
    is_primary = models.BooleanField(_("primary"), default=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)

    class Meta:
        ordering = ["type", "-is_primary", "value"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "type", "system", "value"],
                                    name="people_alias_unique_value"),
            models.UniqueConstraint(fields=["tenant", "contact", "type", "system"],
                                    condition=Q(is_primary=True),
                                    name="people_alias_one_primary"),
        ]
        # Lookups by contact use the contact foreign key's own index.

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


class SavedView(TenantModel):
    """A named contacts list: filters, columns and sort, private to its owner or shared."""

    name = models.CharField(_("name"), max_length=100)
    entity_type = models.CharField(max_length=30, default="contact")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")
    is_shared = models.BooleanField(_("shared with the organization"), default=False)
    filters = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    sort = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "owner", "entity_type", "name"],
                                    name="people_savedview_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
