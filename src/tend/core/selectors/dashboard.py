"""The organization dashboard's figures (call inside the tenant scope)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from tend.core.models import ApiKey, AuditLog, Invitation, Job, JobStatus, Membership, Role, Tenant


@dataclass(frozen=True)
class DashboardCounts:
    members: int
    pending_invitations: int
    roles: int
    custom_roles: int
    api_keys: int
    audit_entries_week: int
    jobs_running: int


def dashboard_counts(*, tenant: Tenant) -> DashboardCounts:
    """Current members (active, not expired), pending invitations, roles, usable API keys,
    audit entries in the last 7 days and running jobs."""
    now = timezone.now()
    current = Q(is_active=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    roles = Role.objects.filter(tenant=tenant)
    return DashboardCounts(
        members=Membership.objects.filter(current, tenant=tenant).count(),
        pending_invitations=Invitation.objects.filter(
            tenant=tenant, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).count(),
        roles=roles.count(),
        custom_roles=roles.filter(is_builtin=False).count(),
        api_keys=ApiKey.objects.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now), tenant=tenant,
            revoked_at__isnull=True,
        ).count(),
        audit_entries_week=AuditLog.objects.filter(
            tenant=tenant, created_at__gte=now - timedelta(days=7)
        ).count(),
        jobs_running=Job.objects.filter(tenant=tenant, status=JobStatus.RUNNING).count(),
    )
