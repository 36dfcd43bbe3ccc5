"""The kill test: a journey with WAIT, CONDITION and SPLIT runs to the end for a few thousand
contacts while real worker processes (`tend worker`) are killed with SIGKILL over and over.
Both workers advance enrollments at once (two lanes of the engine's job). No step's effect
is repeated (one history row per step per enrollment, one outbox message per SEND, one tag
per tagged contact) and every enrollment ends."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from tend.core.models import PeriodicJob, Tag
from tend.core.tenancy import tenant_scope
from tend.marketing.models_journeys import (
    EnrollmentStatus,
    JourneyEnrollment,
    JourneyEnrollmentStep,
)
from tend.marketing.services.journeys import journey_enroll_many
from tend.marketing.tests.journey_helpers import SYSTEM, make_journey, publish_template, step
from tend.messaging.models import Message
from tend.people.models import Contact, ContactTag

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: worker processes cannot reach the in-memory "
                              "SQLite test database"),
]

CONTACTS = int(os.environ.get("TEND_KILL_TEST_CONTACTS", "2000"))
KILLS = 6

STEPS = [
    step("trigger", "TRIGGER", "hello"),
    step("hello", "SEND", "wait", channel="EMAIL", templateId="hello"),
    step("wait", "WAIT", "dubai", duration="2 seconds"),
    step("dubai", "CONDITION", rules=[{"field": "city", "operator": "equals",
                                       "value": "Dubai"}], combinator="AND",
         yes="split", no="bye"),
    step("split", "SPLIT", variants=[{"name": "A", "weight": 1, "next": "offer"},
                                      {"name": "B", "weight": 1, "next": "tag"}]),
    step("offer", "SEND", "end", channel="EMAIL", templateId="hello"),
    step("tag", "UPDATE", "end", action="add_tag", value="vip"),
    step("bye", "SEND", "end", channel="EMAIL", templateId="hello"),
    step("end", "END"),
]


def _env(tmp_path: Path) -> dict[str, str]:
    db = connection.settings_dict
    url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
           f"{db['PORT'] or 5432}/{db['NAME']}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEND_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tend.settings", TEND_DATABASE_URL=url,
        TEND_DB_RLS="1" if settings.TEND_DB_RLS else "0", TEND_DATA_DIR=str(tmp_path),
        TEND_SECRET_KEY="journey-kill-test", TEND_TICK_SECONDS="0.05",
        TEND_JOURNEY_TICK_SECONDS="0.05", TEND_JOURNEY_BATCH="100",
        # Two lanes: both workers claim enrollments at the same time (SKIP LOCKED).
        TEND_JOURNEY_LANES="2",
        TEND_TASKS_BACKEND="django_tasks_db.DatabaseBackend", PYTHONUNBUFFERED="1")
    return env


def _start(env: dict[str, str], n: int, logs: Path) -> subprocess.Popen[str]:
    # Each worker logs to a file: a pipe nobody reads until the end would fill up and stop
    # the worker at its next log line.
    with open(logs / f"worker-{n}.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tend.cli", "worker", "--interval", "0.05",
             "--worker-id", f"journey-{n}"],
            env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)


def _tail(logs: Path, n: int, size: int = 2000) -> str:
    return (logs / f"worker-{n}.log").read_text(errors="replace")[-size:]


def test_killed_workers_never_repeat_a_step(transactional_db, tmp_path, tenant):
    publish_template(tenant)
    with tenant_scope(tenant):
        Tag.objects.create(tenant=tenant, name="VIP", slug="vip")
        Contact.objects.bulk_create([
            Contact(tenant=tenant, first_name=f"K{i}", display_name=f"K{i}",
                    city="Dubai" if i % 3 else "Doha") for i in range(CONTACTS)])
        ids = list(Contact.objects.filter(tenant=tenant).values_list("pk", flat=True))
    journey = make_journey(tenant, STEPS, name="Kill test")
    with tenant_scope(tenant):
        assert len(journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                                       contact_ids=ids)) == CONTACTS

    def remaining() -> int:
        with tenant_scope(tenant):
            return JourneyEnrollment.objects.filter(
                journey=journey, status=EnrollmentStatus.ACTIVE).count()

    def progress() -> int:
        with tenant_scope(tenant):
            return JourneyEnrollmentStep.objects.filter(enrollment__journey=journey).count()

    env = _env(tmp_path)
    rng = random.Random(6)
    workers = [(0, _start(env, 0, tmp_path)), (1, _start(env, 1, tmp_path))]
    started = len(workers)
    kills = 0
    seen = 0
    logs: list[str] = []
    begun = time.monotonic()
    deadline = begun + 480
    try:
        while time.monotonic() < deadline and remaining():
            time.sleep(rng.uniform(0.3, 1.5))
            # Kill only while the workers are moving enrollments (steps were recorded since
            # the last kill), so each kill can land inside a batch.
            moved = progress()
            # A worker still starting up has nothing in flight: kill one that runs.
            running = [i for i, (n, _proc) in enumerate(workers)
                       if "started" in _tail(tmp_path, n)]
            if kills < KILLS and moved > seen and running:
                seen = moved
                n, victim = workers.pop(rng.choice(running))
                victim.send_signal(signal.SIGKILL)
                victim.wait(timeout=30)
                logs.append(_tail(tmp_path, n, 3000))
                kills += 1
                workers.append((started, _start(env, started, tmp_path)))
                started += 1
    finally:
        for _n, proc in workers:
            proc.send_signal(signal.SIGTERM)
        for _n, proc in workers:
            proc.wait(timeout=60)
        errors = [_tail(tmp_path, n) for n, _proc in workers]
    print(f"{CONTACTS} enrollments done in {time.monotonic() - begun:.1f} s, {kills} kills")

    # Most of the kills landed while enrollments were moving (the work may end sooner).
    assert kills >= KILLS // 2, (kills, logs)
    # Both lanes of the engine ran.
    assert set(PeriodicJob.objects.filter(name__startswith="marketing.journeys_run",
                                          run_count__gt=0).values_list("name", flat=True)
               ) == {"marketing.journeys_run", "marketing.journeys_run.2"}
    with tenant_scope(tenant):
        where = list(JourneyEnrollment.objects.filter(journey=journey).values_list(
            "status", "current_step__key").annotate(n=Count("id")))
    assert remaining() == 0, (where, errors, logs)
    with tenant_scope(tenant):
        enrollments = JourneyEnrollment.objects.filter(journey=journey)
        assert set(enrollments.values_list("status", flat=True)) == {EnrollmentStatus.COMPLETED}
        history = JourneyEnrollmentStep.objects.filter(enrollment__journey=journey)
        # No step twice in one enrollment (the journey has no loop).
        assert not history.values("enrollment_id", "step_key").annotate(
            n=Count("id")).filter(n__gt=1).exists()
        sends = history.filter(step_type="SEND")
        messages = Message.objects.filter(tenant=tenant, source=f"journey:{journey.pk}")
        dubai = Contact.objects.filter(tenant=tenant, city="Dubai").count()
        # Everyone got the first message; Doha people the goodbye; Dubai people on branch A
        # the offer; on branch B the tag.
        tagged = ContactTag.objects.filter(tenant=tenant, tag__slug="vip").count()
        offers = sends.filter(step_key="offer").count()
        assert sends.filter(step_key="hello").count() == CONTACTS
        assert sends.filter(step_key="bye").count() == CONTACTS - dubai
        assert offers + tagged == dubai
        assert messages.count() == sends.count() == CONTACTS + (CONTACTS - dubai) + offers
        assert messages.values("dedupe_key").distinct().count() == messages.count()
        assert set(messages.values_list("pk", flat=True)) == {
            UUID(r["message_id"]) for r in sends.values_list("result", flat=True)}
