"""Demo data: the registry modules add their sample data to, and the loader `tend demo` and the
first run of `tend serve` use.

A module registers a loader from its `AppConfig.ready()`:

    register_demo(load_people_demo, order=200)

`load(ctx)` runs inside `tenant_scope(ctx.tenant)`, in one transaction with every other
loader, and should create its data through its services acting as `ctx.actor` (the demo
owner), so the audit log fills as it would in real use. `ctx.rng` is seeded: the same demo
every time. Loaders run in `order`, the core's first (order 0).
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import Conflict
from tend.core.models import AuditLog, Membership, Role, Tenant, User
from tend.core.modules import modules
from tend.core.selectors.access import actor_for_membership
from tend.core.services.audit import audit_record
from tend.core.services.tenants import tenant_create, user_create
from tend.core.tenancy import system_scope, tenant_scope

DEMO_NAME = "Demo Community"
DEMO_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.tend.local"
DEMO_MARKER = "demo.loaded"


@dataclass
class DemoContext:
    """What every demo loader gets: the organization, its owner acting, and the demo staff
    (by role key) that the core loader adds."""

    tenant: Tenant
    owner: User
    actor: Actor
    password: str | None
    rng: random.Random
    staff: dict[str, User] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


DemoLoader = Callable[[DemoContext], Any]
_loaders: list[tuple[int, str, DemoLoader]] = []


def register_demo(loader: DemoLoader, *, order: int = 100) -> DemoLoader:
    """Add `loader` to the demo. Registering the same function twice has no effect."""
    name = f"{loader.__module__}.{loader.__qualname__}"
    if all(existing is not loader for _, _, existing in _loaders):
        _loaders.append((order, name, loader))
        _loaders.sort(key=lambda item: (item[0], item[1]))
    return loader


def demo_loaders() -> list[DemoLoader]:
    return [loader for _, _, loader in _loaders]


def demo_organization_create(*, password: str, name: str = DEMO_NAME, slug: str = DEMO_SLUG,
                             owner_email: str = DEMO_OWNER_EMAIL) -> tuple[Tenant, User]:
    """Create the demo organization, with every module switched on, and its owner account.
    An existing account with `owner_email` becomes the owner (its password is kept)."""
    with system_scope():
        owner = User.objects.filter(email__iexact=owner_email).first()
        if owner is None:
            owner = user_create(email=owner_email, password=password, full_name="Dana Owner")
        tenant = tenant_create(
            name=name, slug=slug, actor=Actor.system(), owner=owner,
            enabled_modules=[m.key for m in modules() if not m.always_on],
        )
    return tenant, owner


def demo_load(*, tenant: Tenant, owner: User, password: str | None = None,
              seed: int = 7) -> DemoContext:
    """Fill `tenant` with the demo data of every registered loader, acting as `owner` (a
    current member with the owner role). `password` is given to the demo staff accounts
    (None: they cannot sign in). Refused with `Conflict` if the demo was loaded there before.
    """
    with tenant_scope(tenant):
        if AuditLog.objects.filter(tenant=tenant, action=DEMO_MARKER).exists():
            raise Conflict(f"The demo data is already loaded into {tenant.slug}.")
        membership = Membership.objects.select_related("role", "user").get(
            tenant=tenant, user=owner
        )
        ctx = DemoContext(tenant=tenant, owner=owner, actor=actor_for_membership(membership),
                          password=password, rng=random.Random(seed))  # noqa: S311
        with transaction.atomic():
            for loader in demo_loaders():
                loader(ctx)
            audit_record(tenant=tenant, actor=ctx.actor, action=DEMO_MARKER,
                         entity_type="organization", entity_id=tenant.pk,
                         changes={"loaders": [name for _, name, _ in _loaders]})
    return ctx


# --- the core's own demo data ----------------------------------------------------------------

DEMO_STAFF = [
    ("admin", "admin@demo.tend.local", "Amira Admin"),
    ("manager", "manager@demo.tend.local", "Malik Manager"),
    ("agent", "agent@demo.tend.local", "Ana Agent"),
    ("viewer", "viewer@demo.tend.local", "Victor Viewer"),
]


def load_core_demo(ctx: DemoContext) -> None:
    """Staff in every role (one with a grant that ends in 30 days), contact custom fields,
    tags, a role change in the audit log, and one finished background job."""
    from tend.core.services.customfields import customfield_create
    from tend.core.services.jobs import job_create, job_run
    from tend.core.services.members import member_change_role, member_set_expiry
    from tend.core.services.provisioning import member_grant
    from tend.core.services.tags import tag_create

    tenant, actor = ctx.tenant, ctx.actor
    memberships = {}
    for role_key, email, full_name in DEMO_STAFF:
        with system_scope():
            user = User.objects.filter(email__iexact=email).first() or user_create(
                email=email, password=ctx.password, full_name=full_name
            )
        ctx.staff[role_key] = user
        memberships[role_key] = member_grant(tenant=tenant, actor=actor, user=user,
                                             role_key="viewer" if role_key == "agent"
                                             else role_key)
    # The agent started as a viewer and was promoted: a role change in the audit log.
    member_change_role(tenant=tenant, actor=actor, membership=memberships["agent"],
                       role=Role.objects.get(tenant=tenant, key="agent"))
    member_set_expiry(tenant=tenant, actor=actor, membership=memberships["viewer"],
                      expires_at=timezone.now() + timedelta(days=30))

    customfield_create(
        tenant=tenant, actor=actor, entity_type="contact", key="membership_level",
        label={"en": "Membership level", "ar": "مستوى العضوية"}, field_type="choice",
        choices=[
            {"value": "newcomer", "label": {"en": "Newcomer", "ar": "جديد"}},
            {"value": "regular", "label": {"en": "Regular", "ar": "منتظم"}},
            {"value": "mentor", "label": {"en": "Mentor", "ar": "مرشد"}},
        ],
    )
    customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="birthday",
                       label={"en": "Birthday", "ar": "تاريخ الميلاد"}, field_type="date")
    customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="newsletter",
                       label={"en": "Gets the newsletter", "ar": "يتلقى النشرة"},
                       field_type="boolean")
    for name, color in (("Volunteer", "#177245"), ("New member", "#2456d6"),
                        ("Donor", "#8a5a00"), ("Needs follow-up", "#b42318")):
        tag_create(tenant=tenant, actor=actor, name=name, color=color)

    job = job_create(tenant=tenant, actor=actor, kind="core.sample_work",
                     title="Sample work (demo)", params={"items": 120, "step_ms": 0},
                     enqueue=False)
    job_run(tenant=tenant, job_id=str(job.pk))


# Registered here rather than from `ready()`: the loader must be present wherever the demo is
# loaded, and loading it means importing this module.
register_demo(load_core_demo, order=0)


# --- the demo login, kept in the data directory -------------------------------------------------

DEMO_LOGIN_FILE = "demo-login.txt"


def demo_login_path() -> Path:
    return Path(settings.DATA_DIR) / DEMO_LOGIN_FILE


def demo_login_save(*, email: str, password: str) -> Path:
    """Keep the generated demo login (readable by the owner of the data directory only) so
    that `tend serve` can print it on every start."""
    path = demo_login_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{email}\n{password}\n")
    return path


def demo_login_read() -> tuple[str, str] | None:
    """The saved demo login, if there is one and its account still exists."""
    path = demo_login_path()
    if not path.is_file():
        return None
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        return None
    email, password = lines[0].strip(), lines[1].strip()
    if not User.objects.filter(email__iexact=email, is_active=True).exists():
        return None
    return email, password


def demo_password() -> str:
    return secrets.token_urlsafe(12)
