"""What contact import and export contribute to the core registries: their job kinds and
a finished demo import."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tend.core.demo import register_demo
from tend.core.jobkinds import JobKind, register_job_kind


def register() -> None:
    from tend.people.demo_imports import load_imports_demo
    from tend.people.services.exports import EXPORT_JOB_KIND, run_export_job
    from tend.people.services.imports import IMPORT_JOB_KIND, run_import_job

    register_job_kind(JobKind(
        IMPORT_JOB_KIND, _("Contact import"), run=run_import_job,
        description=_("Reads a contacts file and creates or updates contacts."),
        count_labels={"created": _("Created"), "updated": _("Updated"),
                      "unchanged": _("Unchanged"), "skipped": _("Skipped"),
                      "merged": _("Merged duplicates in the file"),
                      "errors": _("Rows with errors")},
    ))
    register_job_kind(JobKind(
        EXPORT_JOB_KIND, _("Contact export"), run=run_export_job,
        description=_("Writes contacts to a CSV, Excel or vCard file."),
        count_labels={"exported": _("Contacts exported")},
    ))
    register_demo(load_imports_demo, order=125)
