from tend.core.models.accounts import BuiltinRole, Invitation, Membership, Role, User
from tend.core.models.apikeys import ApiKey
from tend.core.models.audit import ActorType, AuditLog
from tend.core.models.base import TenantModel, TenantScopedManager
from tend.core.models.customfields import CustomFieldDefinition, FieldType, Tag
from tend.core.models.idempotency import IdempotencyRecord
from tend.core.models.jobs import Job, JobStatus, PeriodicJob
from tend.core.models.notifications import Notification
from tend.core.models.tenancy import Plan, Tenant

__all__ = [
    "ActorType",
    "ApiKey",
    "AuditLog",
    "BuiltinRole",
    "CustomFieldDefinition",
    "FieldType",
    "IdempotencyRecord",
    "Invitation",
    "Job",
    "JobStatus",
    "Membership",
    "Notification",
    "PeriodicJob",
    "Plan",
    "Role",
    "Tag",
    "Tenant",
    "TenantModel",
    "TenantScopedManager",
    "User",
]
