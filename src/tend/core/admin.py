"""Django admin at /admin/, for platform operators (superusers) only.

Admin pages look across organizations, so every admin view runs inside `system_scope()`,
including the rendering of its response. Organization data is read-only here except for the
platform-level records (organizations, users); day-to-day changes go through Tend's own pages,
which write the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from tend.core import models
from tend.core.tenancy import system_scope


class TendAdminSite(admin.AdminSite):
    site_header = _("Tend platform administration")
    site_title = _("Tend admin")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)

    def admin_view(  # type: ignore[override]
        self, view: Callable[..., Any], cacheable: bool = False
    ) -> Callable[..., Any]:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def scoped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            with system_scope():
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response = response.render()
                return response

        return scoped


site = TendAdminSite(name="admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.Tenant, site=site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "plan", "is_active", "created_at")
    list_filter = ("plan", "is_active")
    search_fields = ("name", "slug")
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(models.User, site=site)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_superuser", "last_login")
    search_fields = ("email", "full_name")
    list_filter = ("is_active", "is_superuser")
    readonly_fields = ("last_login", "date_joined", "session_epoch")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "language", "time_zone")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "session_epoch")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ()


@admin.register(models.Membership, site=site)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "tenant", "role", "is_active", "expires_at")
    list_filter = ("is_active",)
    list_select_related = ("user", "tenant", "role")


@admin.register(models.AuditLog, site=site)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "seq", "action", "entity_type", "actor_label", "created_at")
    list_filter = ("action",)
    list_select_related = ("tenant",)


@admin.register(models.Job, site=site)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "kind", "status", "progress", "created_at")
    list_filter = ("status", "kind")
    list_select_related = ("tenant",)


@admin.register(models.PeriodicJob, site=site)
class PeriodicJobAdmin(ReadOnlyAdmin):
    list_display = ("name", "next_run_at", "last_status", "run_count")
