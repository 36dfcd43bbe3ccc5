"""Who is acting: a staff user, an API key, or the system. Passed explicitly to services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tend.core.models import ApiKey, Membership, User


@dataclass(frozen=True)
class Actor:
    """The principal behind a service call, with its effective permissions in one tenant."""

    kind: str  # "user" | "api_key" | "system"
    user: User | None = None
    api_key: ApiKey | None = None
    membership: Membership | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(kind="system")

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    def has_perm(self, permission: str) -> bool:
        return self.is_system or permission in self.permissions

    @property
    def id(self) -> str:
        if self.kind == "api_key" and self.api_key is not None:
            return str(self.api_key.pk)
        if self.user is not None:
            return str(self.user.pk)
        return ""

    @property
    def label(self) -> str:
        if self.kind == "api_key" and self.api_key is not None:
            return f"API key {self.api_key.name}"
        if self.user is not None:
            return self.user.email
        return "system"

    @property
    def principal(self) -> str:
        """A stable key for per-principal state (idempotency keys, rate limits)."""
        return f"{self.kind}:{self.id}"

    @property
    def acting_user(self) -> User | None:
        """The user to record as created_by/updated_by (an API key acts for its creator)."""
        if self.user is not None:
            return self.user
        if self.api_key is not None:
            return self.api_key.created_by
        return None
