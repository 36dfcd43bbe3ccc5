"""Contact imports from files."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.people.choices import ImportMode, ImportStatus


class ContactImport(TenantModel):
    """One file import: upload → mapping → preview → run (a background `Job`) → report.

    `mapping` maps file columns to contact fields (`{"E-mail": "email", …}`); `checkpoint` is
    the number of data rows already committed, so a killed import resumes after the last
    whole batch instead of applying any batch twice.
    """

    file = models.FileField(upload_to="imports/")
    original_name = models.CharField(max_length=255)
    format = models.CharField(max_length=10)  # csv | xlsx | vcf
    encoding = models.CharField(max_length=30, blank=True)
    delimiter = models.CharField(max_length=2, blank=True)
    detected_preset = models.CharField(max_length=30, blank=True)
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    mode = models.CharField(_("existing contacts"), max_length=12, choices=ImportMode.choices,
                            default=ImportMode.UPDATE)
    tag_ids = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices,
                              default=ImportStatus.UPLOADED)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    total_rows = models.PositiveBigIntegerField(null=True, blank=True)
    checkpoint = models.PositiveBigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error_file = models.FileField(upload_to="imports/errors/", blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name
