"""Demo data of the pods part (The Progress Method): three pods in different time zones with
members and past meetings with attendance, matching profiles, people waiting for a pod (so
the matching page has something to propose), commitments with check-ins and streaks, and a
goal or two. Runs after the people loaders (order 610) and uses their live contacts; with
fewer than twenty it adds nothing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tend.community.models import PodMeeting
from tend.community.services.commitments import (
    commitment_check_in,
    commitment_create,
    goal_create,
    local_today,
)
from tend.community.services.pods_core import (
    attendance_record,
    pod_create,
    pod_join,
    pod_refresh_health,
    profile_update,
)
from tend.core.demo import DemoContext, register_demo
from tend.people.choices import ContactStatus
from tend.people.models import Contact

PODS = [
    ("Gulf Founders", "Asia/Dubai", 7, "19:30", "business", "INTERMEDIATE"),
    ("Morning Movers", "Europe/Berlin", 1, "07:00", "health", ""),
    ("East Coast Writers", "America/New_York", 3, "20:00", "creative", "BEGINNER"),
]
SKILLS = ["marketing", "discipline", "tech", "writing", "sales", "fitness", "design",
          "planning"]
NOTES = ["Two members hit their weekly target; one blocked on time.",
         "Good energy. Shared tools for planning the week.",
         "Short meeting; agreed to keep commitments smaller."]
ACTIONS = ["Share one win in the chat by Wednesday", "Pick next week's commitment tonight",
           "Pair up for a mid-week check-in", "Post the meeting notes"]
NEEDS = ["time management", "motivation", "focus", "accountability", "confidence"]
COMMITMENTS = ["write 500 words before 9am today", "run 5 km every morning",
               "call 3 customers by Friday", "read 20 pages tonight", "get fit",
               "meditate 10 minutes daily", "ship the landing page by Thursday"]


def load_pods_demo(ctx: DemoContext) -> None:
    tenant, actor, rng = ctx.tenant, ctx.actor, ctx.rng
    people = list(Contact.objects.filter(tenant=tenant, status=ContactStatus.ACTIVE,
                                         deleted_at__isnull=True).order_by("-created_at")[:40])
    if len(people) < 20:
        ctx.notes.append("Pods demo: too few contacts.")
        return
    now = timezone.now()
    pods = [pod_create(tenant=tenant, actor=actor, data={
        "name": name, "time_zone": zone, "day_of_week": day, "time": at, "capacity": 6,
        "meeting_link": "https://meet.example.com/" + name.lower().replace(" ", "-"),
        "target_goals_category": goal, "target_experience_level": level,
        # The Gulf pod takes people from UTC+3 (Riyadh) to UTC+4 (Dubai) only.
        **({"target_utc_offset_min": 180, "target_utc_offset_max": 240}
           if zone == "Asia/Dubai" else {})})
        for name, zone, day, at, goal, level in PODS]
    for index, person in enumerate(people):
        pod = pods[index % 3] if index < 15 else None
        zone = pod.time_zone if pod else ["Asia/Riyadh", "Europe/Paris", "America/Chicago",
                                          "Asia/Dubai"][index % 4]
        if person.time_zone != zone:
            Contact.objects.filter(tenant=tenant, pk=person.pk).update(time_zone=zone)
        profile_update(tenant=tenant, actor=actor, contact=person, data={
            "goals_category": PODS[index % 3][4], "experience_level": rng.choice(
                ["BEGINNER", "INTERMEDIATE", "ADVANCED"]),
            "meeting_style": rng.choice(["SUPPORTIVE", "DIRECT", "MIXED"]),
            "strengths": rng.sample(SKILLS, 2), "help_needed": rng.sample(NEEDS, 1),
            "bio": "", "waiting": pod is None and index < 30})
        if pod is not None:
            pod_join(tenant=tenant, actor=actor, pod=pod, contact=person,
                     payment_active=index % 4 != 0)
    for pod in pods:
        members = list(pod.memberships.select_related("contact"))
        for weeks in (3, 2, 1):
            meeting = PodMeeting.objects.create(
                tenant=tenant, pod=pod, scheduled_at=now - timedelta(days=7 * weeks, hours=2),
                agenda="Wins, commitments, blockers", energy_level=rng.randint(5, 9),
                notes=rng.choice(NOTES), action_items=rng.sample(ACTIONS, 2))
            for m in members:
                attendance_record(tenant=tenant, actor=actor, meeting=meeting,
                                  contact=m.contact, attended=rng.random() < 0.8,
                                  rating=rng.randint(3, 5))
    today = local_today(tenant)
    for index, person in enumerate(people[:24]):
        goal = goal_create(tenant=tenant, actor=actor, contact=person, data={
            "title": ["Launch my product", "Run a half marathon", "Finish my novel"][index % 3],
            "category": PODS[index % 3][4], "progress": rng.randint(0, 80),
            "summary": rng.choice(NOTES)})
        commitment = commitment_create(tenant=tenant, actor=actor, contact=person,
                                       text=COMMITMENTS[index % len(COMMITMENTS)], goal=goal)
        streak = rng.randint(0, 9)
        for days_ago in range(streak, 0, -1):
            commitment_check_in(tenant=tenant, actor=actor, commitment=commitment, done=True,
                                day=today - timedelta(days=days_ago), source="bot")
        if index % 5 == 0:
            commitment_check_in(tenant=tenant, actor=actor, commitment=commitment, done=True,
                                complete=True)
    for pod in pods:
        pod_refresh_health(tenant=tenant, pod=pod)


register_demo(load_pods_demo, order=610)
