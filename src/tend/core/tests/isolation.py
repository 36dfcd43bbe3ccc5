"""The tenant-isolation registry: one entry per API route, saying how to call it with the
*victim* organization's real ids.

`test_isolation.py` enumerates every route of `tend.api.api`; a route without an entry here
fails the suite. Entries live in `isolation_<area>.py` modules next to this one (or in
`tend/<app>/tests/isolation_<area>.py` for other apps), found by that naming convention:

    from tend.core.tests.isolation import register

    register("GET", "/api/v1/tags/{tag_id}", path=lambda v: {"tag_id": v.tag.pk})
    register("PATCH", "/api/v1/tags/{tag_id}", path=lambda v: {"tag_id": v.tag.pk},
             body=lambda v: {"name": "renamed"})

`path` builds the path parameters from the victim's objects (a `Victim`), `body` the JSON
body and `query` the query parameters. Give write routes a *valid* body, so the request
gets past input validation and really meets the tenant check.

Every entry also runs a control: the victim's own owner makes the same request and must get
a 2xx — this proves the ids are real and the route works, so a 404 for the others means
isolation rather than a broken entry. Turn it off (`control=False`) only when the victim's
owner cannot succeed either (say a route that needs a one-time token), or set
`control_status` when the route answers something else than 2xx by design.

A new kind of victim object: add it in `build_victim` below (core models) or register a
builder with `@victim_builder` in your isolation module (other apps):

    @victim_builder
    def _contacts(victim, canary):
        victim.contact = contact_create(..., name=canary("contact name"))

Strings made with `canary(...)` must never appear in a response to another organization.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.models import (
    ApiKey,
    CustomFieldDefinition,
    Invitation,
    Job,
    Membership,
    Role,
    Tag,
    Tenant,
    User,
)
from tend.core.services.apikeys import apikey_create
from tend.core.services.audit import audit_record
from tend.core.services.tenants import tenant_create, user_create
from tend.core.tenancy import system_scope, tenant_scope

API_PREFIX = "/api/v1"

Builder = Callable[["Victim"], Any]


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    path_params: Builder | None = None
    body: Builder | None = None
    query: Builder | None = None
    # The request names the victim's objects (in the path, or in the body/query when set
    # explicitly): every other principal must get 401/403/404 (or one of `also_ok`).
    # Otherwise (e.g. GET /me) a principal may succeed, but only with its own data.
    targets_victim: bool = True
    also_ok: frozenset[int] = frozenset()
    control: bool = True
    control_status: frozenset[int] = frozenset({200, 201, 202, 204})

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


_entries: dict[tuple[str, str], Entry] = {}
_builders: list[Callable[[Victim, Callable[[str], str]], None]] = []
_loaded = False


def register(method: str, route: str, *, path: Builder | None = None,
             body: Builder | None = None, query: Builder | None = None,
             targets_victim: bool | None = None, also_ok: tuple[int, ...] = (),
             control: bool = True, control_status: tuple[int, ...] = ()) -> None:
    """Add the isolation entry of one route. `route` is the path as the API declares it, with
    the `/api/v1` prefix, e.g. `/api/v1/api-keys/{key_id}`; `path` builds its parameters."""
    entry = Entry(
        method=method.upper(), path=route, path_params=path, body=body, query=query,
        targets_victim=(path is not None) if targets_victim is None else targets_victim,
        also_ok=frozenset(also_ok), control=control,
        control_status=frozenset(control_status) or frozenset({200, 201, 202, 204}),
    )
    if entry.key in _entries:
        raise ValueError(f"isolation entry registered twice: {entry.method} {entry.path}")
    _entries[entry.key] = entry


def victim_builder(func: Callable[[Victim, Callable[[str], str]], None]) -> Callable[
        [Victim, Callable[[str], str]], None]:
    """Register a function that adds objects to the victim organization (runs inside its
    tenant scope, after the core objects exist)."""
    _builders.append(func)
    return func


def entries() -> dict[tuple[str, str], Entry]:
    """All registered entries, loading every `isolation_*` module on first use."""
    global _loaded
    if not _loaded:
        _load_entry_modules()
        _loaded = True
    return dict(_entries)


def _load_entry_modules() -> None:
    for config in apps.get_app_configs():
        if not config.name.startswith("tend."):
            continue
        tests_dir = Path(config.path) / "tests"
        if not (tests_dir / "__init__.py").exists():
            continue
        for info in pkgutil.iter_modules([str(tests_dir)]):
            if info.name.startswith("isolation_"):
                importlib.import_module(f"{config.name}.tests.{info.name}")


# --- the two organizations ---------------------------------------------------------------------


class Victim:
    """The organization under attack, with one object of every kind, all named with canaries.

    Attributes: tenant, owner, member (a viewer), owner_membership, membership (the viewer's),
    role (built-in viewer), custom_role, api_key, invitation, tag, custom_field, job,
    audit_entry — plus whatever `@victim_builder` functions add.
    """

    tenant: Tenant
    owner: User
    member: User
    owner_membership: Membership
    membership: Membership
    role: Role
    custom_role: Role
    api_key: ApiKey
    invitation: Invitation
    tag: Tag
    custom_field: CustomFieldDefinition
    job: Job

    def __init__(self) -> None:
        self.canaries: list[str] = []

    def canary(self, label: str) -> str:
        """A string that belongs to the victim alone; no other principal may ever see it."""
        slug = "".join(ch for ch in label.lower() if ch.isalnum())[:24]
        value = f"zqcanary{len(self.canaries):02d}{slug}"
        self.canaries.append(value)
        return value


@dataclass
class World:
    """Two organizations: `home` (where the attacking principals belong) and `victim`."""

    home: Tenant
    home_owner: User
    home_viewer: User
    home_key_few: str
    home_key_full: str
    victim: Victim
    extra: dict[str, Any] = field(default_factory=dict)


def _member(tenant: Tenant, user: User, role_key: str) -> Membership:
    return Membership.objects.create(tenant=tenant, user=user,
                                     role=Role.objects.get(tenant=tenant, key=role_key))


def build_victim() -> Victim:
    v = Victim()
    c = v.canary
    system = Actor.system()
    v.owner = user_create(email=f"{c('owner email')}@victim.example", password="pw-victim-1",
                          full_name=c("owner name"))
    v.member = user_create(email=f"{c('member email')}@victim.example", password="pw-victim-2",
                           full_name=c("member name"))
    with system_scope():
        v.tenant = tenant_create(name=c("organization name"), slug="victim-org", actor=system,
                                 owner=v.owner, settings={"motto": c("settings value")})
    with tenant_scope(v.tenant):
        v.owner_membership = Membership.objects.select_related("role").get(user=v.owner)
        v.membership = _member(v.tenant, v.member, "viewer")
        v.role = v.membership.role
        v.custom_role = Role.objects.create(
            tenant=v.tenant, key="victim-custom", name=c("custom role name"),
            description=c("custom role description"), permissions=["tags.view"],
        )
        owner_actor = Actor(kind="user", user=v.owner, membership=v.owner_membership,
                            permissions=v.owner_membership.role.permission_set())
        v.api_key, _secret = apikey_create(tenant=v.tenant, actor=owner_actor,
                                           name=c("api key name"), permissions=["tags.view"])
        v.invitation = Invitation.objects.create(
            tenant=v.tenant, email=f"{c('invitee email')}@victim.example", role=v.role,
            token_hash=c("invitation token hash"), invited_by=v.owner,
            expires_at=timezone.now() + timedelta(days=3),
        )
        v.tag = Tag.objects.create(tenant=v.tenant, name=c("tag name"), slug=c("tag slug"),
                                   description=c("tag description"))
        v.custom_field = CustomFieldDefinition.objects.create(
            tenant=v.tenant, entity_type="contact", key=c("field key"),
            label={"en": c("field label")}, field_type="text", help_text=c("field help"),
        )
        v.job = Job.objects.create(tenant=v.tenant, kind="test.isolation",
                                   title=c("job title"), message=c("job message"))
        v.audit_entry = audit_record(tenant=v.tenant, actor=owner_actor, action="test.canary",
                                     entity_type="tag", entity_id=v.tag.pk,
                                     changes={"note": c("audit change")})
        for builder in _builders:
            builder(v, c)
    return v


def build_world() -> World:
    """Both organizations, through the real services where they exist."""
    entries()  # load modules so their victim builders are registered
    home_owner = user_create(email="home-owner@home.example", password="pw-home-1",
                             full_name="Home Owner")
    home_viewer = user_create(email="home-viewer@home.example", password="pw-home-2",
                              full_name="Home Viewer")
    with system_scope():
        home = tenant_create(name="Home Club", slug="home-org", actor=Actor.system(),
                             owner=home_owner)
    with tenant_scope(home):
        owner_membership = Membership.objects.select_related("role").get(user=home_owner)
        _member(home, home_viewer, "viewer")
        owner_actor = Actor(kind="user", user=home_owner, membership=owner_membership,
                            permissions=owner_membership.role.permission_set())
        _, key_few = apikey_create(tenant=home, actor=owner_actor, name="few",
                                   permissions=["organization.view"])
        _, key_full = apikey_create(tenant=home, actor=owner_actor, name="full",
                                    permissions=sorted(owner_actor.permissions))
        Tag.objects.create(tenant=home, name="home tag", slug="home-tag")
    return World(home=home, home_owner=home_owner, home_viewer=home_viewer,
                 home_key_few=key_few, home_key_full=key_full, victim=build_victim())
