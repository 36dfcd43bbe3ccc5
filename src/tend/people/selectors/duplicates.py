"""Reading duplicate candidates."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import Tenant
from tend.people.choices import DuplicateResolution
from tend.people.models import DuplicateCandidate


def candidate_list(*, tenant: Tenant, resolution: str | None = DuplicateResolution.PENDING,
                   min_score: int | None = None) -> QuerySet[DuplicateCandidate]:
    """`tenant`'s candidates, best first, with both contacts (and their companies) loaded.
    `resolution` "ALL" (or None) means every resolution."""
    errors: dict[str, list[str]] = {}
    qs = DuplicateCandidate.objects.filter(tenant=tenant)
    if resolution and resolution != "ALL":
        if resolution not in DuplicateResolution.values:
            errors["resolution"] = [_("Choose PENDING, MERGED, NOT_DUPLICATE, IGNORED or ALL.")]
        qs = qs.filter(resolution=resolution)
    if min_score is not None:
        if not 0 <= min_score <= 100:
            errors["min_score"] = [_("Enter a score from 0 to 100.")]
        qs = qs.filter(score__gte=min_score)
    if errors:
        raise ValidationFailed(fields=errors)
    return qs.select_related("contact_a", "contact_b", "contact_a__company",
                             "contact_b__company").order_by("-score", "-id")


def candidate_get(*, tenant: Tenant, candidate_id: Any) -> DuplicateCandidate:
    """One candidate of `tenant`; `NotFound` for unknown ids and other organizations'."""
    try:
        pk = UUID(str(candidate_id))
    except (TypeError, ValueError):
        raise NotFound(_("No such duplicate candidate.")) from None
    candidate = (DuplicateCandidate.objects.filter(tenant=tenant, pk=pk)
                 .select_related("contact_a", "contact_b").first())
    if candidate is None:
        raise NotFound(_("No such duplicate candidate."))
    return candidate
