"""Request edges: session guard, language, and resolving the organization from the URL."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import translation

from tend.core.selectors.access import actor_for_request, membership_for
from tend.core.tenancy import system_scope, tenant_scope

Handler = Callable[[HttpRequest], HttpResponse]


class SessionGuardMiddleware:
    """Idle timeout and forced logout when the account's session epoch moved on."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get("tend_last_seen", now)
            epoch = request.session.get("tend_epoch", user.session_epoch)
            idle = settings.TEND_SESSION_IDLE_SECONDS
            if now - last_seen > idle or epoch != user.session_epoch:
                logout(request)
                if request.path_info.startswith("/api/"):
                    # API clients get a 401 problem from the API, not a login page.
                    return self.get_response(request)
                return redirect_to_login(request.get_full_path())
            if now - last_seen > 30 or "tend_last_seen" not in request.session:
                request.session["tend_last_seen"] = now
                request.session["tend_epoch"] = user.session_epoch
        return self.get_response(request)


class UserLanguageMiddleware:
    """A signed-in person's chosen language wins over the browser's."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            codes = {code for code, _ in settings.LANGUAGES}
            if user.language in codes:
                request.LANGUAGE_CODE = user.language  # type: ignore[attr-defined]
                # override() puts the thread's previous language back afterwards, so one
                # person's choice never leaks into the next request served by this thread.
                with translation.override(user.language):
                    return self.get_response(request)
        return self.get_response(request)


class TenantMiddleware:
    """For URLs under `/o/<org_slug>/`: resolve the organization once, check membership, and run
    the whole request inside its tenant scope. Sets `request.tenant`, `request.membership` and
    `request.actor` (an `Actor` with the member's permissions).

    Not a member → 404 (we do not confirm that an organization exists to outsiders).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get("org_slug")
        if slug is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        with system_scope():
            membership = membership_for(user=request.user, org_slug=slug)
        if membership is None:
            raise Http404("organization not found")
        tenant = membership.tenant
        request.tenant = tenant  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        if request.session.get("tend_current_org") != tenant.slug:
            request.session["tend_current_org"] = tenant.slug
        with tenant_scope(tenant):
            request.actor = actor_for_request(request, membership)  # type: ignore[attr-defined]
            return self.get_response(request)


class ApiMethodNotAllowedMiddleware:
    """The API answers every error as problem+json; Django's 405 for a wrong method is plain
    text, so it is rewritten here (keeping the `Allow` header)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and request.path_info.startswith("/api/"):
            from tend.core.api.base import problem_response

            # Ninja builds the list from a set: sort it so the answer is stable.
            allowed = ", ".join(sorted(m.strip() for m in response.get("Allow", "").split(",")
                                       if m.strip()))
            return problem_response(
                request, status=405, code="method_not_allowed",
                detail=f"{request.method} is not allowed here. Allowed: {allowed}.",
                headers={"Allow": allowed} if allowed else None,
            )
        return response
