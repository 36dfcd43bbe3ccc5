"""The pods settings: when the weekly check-in goes out."""

from __future__ import annotations

from typing import Any

from ninja import Field, Router, Schema
from pydantic import ConfigDict

from tend.community.services.pods_settings import pods_settings, pods_settings_update
from tend.core.api.base import ApiRequest, require

router = Router(tags=["Pods"])


class PodsSettingsOut(Schema):
    weekly_day: int = Field(description="ISO day of the week: 1 Monday … 7 Sunday")
    weekly_hour: int = Field(description="Hour (0-23, organization time) from which it is sent")


class PodsSettingsPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    weekly_day: int | None = None
    weekly_hour: int | None = None


@router.get("/community/pods-settings", response=PodsSettingsOut)
def settings_get(request: ApiRequest) -> Any:
    """When the weekly check-in goes out. Needs `pods.view`."""
    require(request, "pods.view")
    return pods_settings(request.tenant)


@router.patch("/community/pods-settings", response=PodsSettingsOut)
def settings_update(request: ApiRequest, payload: PodsSettingsPatch) -> Any:
    """Change the weekly check-in's day and hour. Needs `pods.change`."""
    actor = require(request, "pods.change")
    return pods_settings_update(tenant=request.tenant, actor=actor,
                                data=payload.model_dump(exclude_none=True))
