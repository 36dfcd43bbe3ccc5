"""Courses and their lessons."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.community.models import CourseStatus
from tend.community.selectors.care_people import course_get, course_lessons, course_list
from tend.community.services.care_courses import course_create, course_update, lesson_add
from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require

router = Router(tags=["Courses"])


class CourseOut(Schema):
    id: UUID
    slug: str
    title: str
    version: int
    status: str
    min_interval_days: int
    require_previous: bool
    created_at: datetime


class CourseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=200)
    slug: str = Field("", max_length=80)
    status: CourseStatus = CourseStatus.DRAFT
    min_interval_days: int = Field(0, ge=0, le=3650)
    require_previous: bool = True


class CoursePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    status: CourseStatus | None = None
    min_interval_days: int | None = Field(None, ge=0, le=3650)
    require_previous: bool | None = None


class LessonOut(Schema):
    id: UUID
    course_id: UUID
    order: int
    slug: str
    title: str
    body_md: str
    est_minutes: int | None


class LessonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=200)
    slug: str = Field("", max_length=80)
    body_md: str = Field("", max_length=50_000)
    est_minutes: int | None = Field(None, ge=1, le=1440)


@router.get("/community/courses", response=Page[CourseOut])
def courses_list(request: ApiRequest, page: Query[PageParams]) -> Any:
    require(request, "care.view")
    return paginate(course_list(tenant=request.tenant), page, ordering=("title", "id"))


@router.post("/community/courses", response={201: CourseOut})
def courses_create(request: ApiRequest, payload: CourseIn) -> Any:
    """Add a course with its next-lesson rules. Needs `care.manage`."""
    actor = require(request, "care.manage")
    return Status(201, course_create(
        tenant=request.tenant, actor=actor, title=payload.title, slug=payload.slug,
        status=payload.status, min_interval_days=payload.min_interval_days,
        require_previous=payload.require_previous))


@router.get("/community/courses/{course_id}", response=CourseOut)
def courses_get(request: ApiRequest, course_id: UUID) -> Any:
    require(request, "care.view")
    return course_get(tenant=request.tenant, course_id=course_id)


@router.patch("/community/courses/{course_id}", response=CourseOut)
def courses_update(request: ApiRequest, course_id: UUID, payload: CoursePatch) -> Any:
    actor = require(request, "care.manage")
    course = course_get(tenant=request.tenant, course_id=course_id)
    return course_update(tenant=request.tenant, actor=actor, course=course,
                         data=payload.model_dump(exclude_unset=True))


@router.get("/community/courses/{course_id}/lessons", response=list[LessonOut])
def lessons_list(request: ApiRequest, course_id: UUID) -> Any:
    require(request, "care.view")
    course = course_get(tenant=request.tenant, course_id=course_id)
    return list(course_lessons(tenant=request.tenant, course=course))


@router.post("/community/courses/{course_id}/lessons", response={201: LessonOut})
def lessons_add(request: ApiRequest, course_id: UUID, payload: LessonIn) -> Any:
    actor = require(request, "care.manage")
    course = course_get(tenant=request.tenant, course_id=course_id)
    return Status(201, lesson_add(tenant=request.tenant, actor=actor, course=course,
                                  title=payload.title, body_md=payload.body_md,
                                  est_minutes=payload.est_minutes, slug=payload.slug))
