"""The rules API: the field catalogue, checking a rule, counting a rule without saving it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ninja import Router, Schema

from tend.core.api.base import ApiRequest, require
from tend.rules.selectors import field_catalogue, rule_count
from tend.rules.services import rule_clean, rule_validate

router = Router(tags=["Rules"])


class RuleIn(Schema):
    rule: dict[str, Any]


class OperatorOut(Schema):
    key: str
    label: str
    takes_value: bool


class ChoiceOut(Schema):
    value: str
    label: str


class FieldOut(Schema):
    key: str
    label: str
    type: str
    operators: list[OperatorOut]
    choices: list[ChoiceOut]


class FieldGroupOut(Schema):
    key: str
    label: str
    fields: list[FieldOut]


class ProblemOut(Schema):
    path: str
    message: str


class ValidateOut(Schema):
    valid: bool
    problems: list[ProblemOut]
    rule: dict[str, Any] | None


class SampleContactOut(Schema):
    id: UUID
    display_name: str
    primary_email: str


class CountOut(Schema):
    count: int
    sample: list[SampleContactOut]
    rule: dict[str, Any]


@router.get("/rules/fields", response=list[FieldGroupOut])
def rules_fields(request: ApiRequest) -> Any:
    """The fields rules may test, grouped by module, with their types, operators and
    choices. Needs `contacts.view`."""
    require(request, "contacts.view")
    return field_catalogue(tenant=request.tenant)


@router.post("/rules/validate", response=ValidateOut)
def rules_validate(request: ApiRequest, payload: RuleIn) -> Any:
    """Check a rule: every problem with its path (e.g. `rules[1].value`), and the
    normalized rule when it is valid. Needs `contacts.view`."""
    require(request, "contacts.view")
    problems = rule_validate(tenant=request.tenant, rule=payload.rule)
    return {"valid": not problems, "problems": problems,
            "rule": None if problems else rule_clean(tenant=request.tenant, rule=payload.rule)}


@router.post("/rules/count", response=CountOut)
def rules_count(request: ApiRequest, payload: RuleIn) -> Any:
    """Count the live contacts a rule selects, without saving it, with a sample of ten by
    name. An invalid rule is a 422 whose errors name each problem's path. Needs
    `contacts.view`."""
    require(request, "contacts.view")
    rule = rule_clean(tenant=request.tenant, rule=payload.rule)
    result = rule_count(tenant=request.tenant, rule=rule)
    return {"count": result.count, "sample": result.sample, "rule": rule}
