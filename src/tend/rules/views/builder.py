"""The rule builder: a reusable htmx partial (`rules/partials/builder.html`) with its endpoint,
and the standalone "Try a rule" page.

Embedding it in another form: render `rules/partials/builder.html` with the context of
`builder_context(request, rule=…, input_name="rule")`; the builder keeps the current rule as
JSON in a hidden input named `input_name`, so the outer form receives it on submit.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST

from tend.core.errors import ValidationFailed
from tend.core.models import Tag, Tenant
from tend.core.views.base import require_perm
from tend.rules.builder import EMPTY_RULE, apply_action, builder_tree, rule_from_form
from tend.rules.registry import FieldType, fields_for
from tend.rules.selectors import rule_count
from tend.rules.services import rule_clean, rule_validate

INPUT_NAME_RE = r"^[a-z_][a-z0-9_]{0,40}$"


def _tag_choices(tenant: Tenant) -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in
            Tag.objects.filter(tenant=tenant).order_by("name").values_list("pk", "name")]


def builder_context(request: HttpRequest, *, rule: Any, input_name: str = "rule",
                    show_count: bool = True) -> dict[str, Any]:
    """What `rules/partials/builder.html` needs to show `rule` (valid or not) with its
    problems at the conditions they belong to, and the live count and sample when valid."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    fields = fields_for(tenant)
    if not isinstance(rule, dict):
        rule = dict(EMPTY_RULE, rules=[])
    problems = rule_validate(tenant=tenant, rule=rule)
    count = None
    if not problems and show_count:
        try:
            count = rule_count(tenant=tenant, rule=rule_clean(tenant=tenant, rule=rule))
        except ValidationFailed:
            count = None
    tree = builder_tree(rule, fields, problems, {FieldType.TAGS: _tag_choices(tenant)})
    return {"tree": tree, "root": tree["root"], "field_options": tree["field_options"],
            "problems": problems, "count": count, "input_name": input_name,
            "rule_json": json.dumps(rule), "show_count": show_count}


@require_perm("contacts.view")
@require_POST
def builder_update(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Re-render the builder from its inputs after a change or an action (add a condition or
    a group, remove one)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    fields = fields_for(tenant)
    rule = rule_from_form(request.POST, fields)
    action = request.POST.get("rule_action", "")
    if action:
        rule = apply_action(rule, action, fields)
    input_name = request.POST.get("builder_input", "rule")
    if not re.match(INPUT_NAME_RE, input_name):
        input_name = "rule"
    show_count = request.POST.get("builder_count", "1") == "1"
    context = builder_context(request, rule=rule, input_name=input_name, show_count=show_count)
    return render(request, "rules/partials/builder_body.html", context)


@require_perm("contacts.view")
def try_rule(request: HttpRequest, org_slug: str) -> HttpResponse:
    """A page to build a rule and see who matches, without saving anything. `?rule=` may
    carry a rule as JSON to start from."""
    try:
        rule = json.loads(request.GET.get("rule", "") or "null")
    except ValueError:
        rule = None
    return render(request, "rules/try.html", builder_context(request, rule=rule))


urlpatterns = [
    path("o/<slug:org_slug>/rules/try/", try_rule, name="try"),
    path("o/<slug:org_slug>/rules/builder/", builder_update, name="builder"),
]
