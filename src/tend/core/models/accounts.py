"""Staff accounts, roles and memberships."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tend.core.ids import uuid7
from tend.core.models.base import TenantModel


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A staff person who logs in. Belongs to organizations through `Membership`.

    `is_staff`/`is_superuser` only open Django's /admin/ for platform operators; what a person
    may do inside an organization comes from their membership's role.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform admin"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped whenever the account is disabled or its password changes; sessions that carry an
    # older value are ended by the session middleware.
    session_epoch = models.PositiveIntegerField(default=0)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]


class BuiltinRole(models.TextChoices):
    OWNER = "owner", pgettext_lazy("role", "Owner")
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Agent")
    AFFILIATE = "affiliate", _("Affiliate")
    VIEWER = "viewer", _("Viewer")


class Role(TenantModel):
    """A named set of permissions (`"<area>.<action>"` strings from the permission registry).

    Built-in roles are created with each organization and cannot be edited; their permissions
    are computed from the registry so new modules' permissions reach them automatically.
    Custom roles store their permission list.
    """

    key = models.SlugField(_("key"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_builtin = models.BooleanField(default=False)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="core_role_unique_key"),
        ]

    def __str__(self) -> str:
        return str(self.display_name)

    @property
    def display_name(self) -> str:
        """The name to show people: a built-in role's name in the active language (built-in
        roles keep their English name in `name`, and it cannot be edited)."""
        if self.is_builtin and self.key in BuiltinRole.values:
            return str(BuiltinRole(self.key).label)
        return self.name

    def permission_set(self) -> frozenset[str]:
        from tend.core.permissions import builtin_role_permissions

        if self.is_builtin:
            return builtin_role_permissions(self.key)
        return frozenset(self.permissions or [])


class Membership(TenantModel):
    """A user's place in an organization, with one role. The grant may expire."""

    user = models.ForeignKey(
        "core.User", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")
    is_active = models.BooleanField(_("active"), default=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    granted_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="core_membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role_id})"

    @property
    def is_current(self) -> bool:
        return self.is_active and (self.expires_at is None or self.expires_at > timezone.now())


class Invitation(TenantModel):
    """An emailed invitation to join an organization with a role. Only the token's hash is kept."""

    email = models.EmailField(_("email"))
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, db_index=True)
    invited_by = models.ForeignKey(
        "core.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "token_hash"], name="core_invitation_unique_token"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )
