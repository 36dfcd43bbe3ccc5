"""Isolation entries for community's pods part: profiles, pods, memberships, meetings and
attendance, matching runs, KPIs, commitments, check-ins and goals. The victim gets a pod with
a member and a meeting, a commitment, a goal and a matching run, named with canaries."""

from datetime import UTC, datetime, time

from tend.community.models import (
    Commitment,
    Goal,
    MatchingRun,
    Pod,
    PodMeeting,
    PodMembership,
    PodsProfile,
)
from tend.core.tests.isolation import register, victim_builder
from tend.people.models import Contact


@victim_builder
def _pods(v, c):
    v.pods_person = Contact.objects.create(tenant=v.tenant, first_name=c("pod person"),
                                           display_name=c("pod person display"))
    PodsProfile.objects.create(tenant=v.tenant, contact=v.pods_person, bio=c("pod bio"),
                               goals_category="health", waiting=True)
    v.pod = Pod.objects.create(tenant=v.tenant, name=c("pod name"), time=time(18, 0),
                               description=c("pod description"), member_count=1)
    v.pod_membership = PodMembership.objects.create(tenant=v.tenant, pod=v.pod,
                                                    contact=v.pods_person)
    v.pod_meeting = PodMeeting.objects.create(tenant=v.tenant, pod=v.pod,
                                              scheduled_at=datetime(2026, 1, 5, 18, tzinfo=UTC),
                                              notes=c("meeting notes"))
    v.pod_goal = Goal.objects.create(tenant=v.tenant, contact=v.pods_person,
                                     title=c("goal title"))
    v.commitment = Commitment.objects.create(tenant=v.tenant, contact=v.pods_person,
                                             text=c("commitment text"))
    v.matching_run = MatchingRun.objects.create(tenant=v.tenant, proposal={
        "assignments": [{"contact_id": str(v.pods_person.pk), "name": c("run person"),
                         "pod": str(v.pod.pk), "score": 1, "reasons": []}], "new_pods": []})


# Lists and creations act on the caller's own organization.
register("GET", "/api/v1/community/pods", targets_victim=False)
register("POST", "/api/v1/community/pods", targets_victim=False,
         body=lambda v: {"name": "Suite pod", "time": "18:00"})
register("POST", "/api/v1/community/pod-matching", targets_victim=False, body=lambda v: {})
register("GET", "/api/v1/community/pod-kpis", targets_victim=False)
register("GET", "/api/v1/community/pods-settings", targets_victim=False)
register("PATCH", "/api/v1/community/pods-settings", targets_victim=False,
         body=lambda v: {"weekly_day": 1})
register("POST", "/api/v1/community/smart-analysis", targets_victim=False,
         body=lambda v: {"text": "run 5 km today"})

pod = {"path": lambda v: {"pod_id": v.pod.pk}}
register("GET", "/api/v1/community/pods/{pod_id}", **pod)
register("PATCH", "/api/v1/community/pods/{pod_id}", **pod, body=lambda v: {"name": "X"})
register("GET", "/api/v1/community/pods/{pod_id}/members", **pod)
register("POST", "/api/v1/community/pods/{pod_id}/members", **pod,
         body=lambda v: {"contact_id": str(v.pods_person.pk)})
register("GET", "/api/v1/community/pods/{pod_id}/meetings", **pod)
register("POST", "/api/v1/community/pods/{pod_id}/meetings/generate", **pod,
         body=lambda v: {"weeks": 1})
register("POST", "/api/v1/community/pods/{pod_id}/attendance-import", **pod,
         body=lambda v: {"csv": "date,contact_id,attended\n"})
register("PATCH", "/api/v1/community/pod-memberships/{membership_id}",
         path=lambda v: {"membership_id": v.pod_membership.pk},
         body=lambda v: {"payment_active": True})
register("POST", "/api/v1/community/pod-memberships/{membership_id}/leave",
         path=lambda v: {"membership_id": v.pod_membership.pk})
meeting = {"path": lambda v: {"meeting_id": v.pod_meeting.pk}}
register("GET", "/api/v1/community/pod-meetings/{meeting_id}", **meeting)
register("GET", "/api/v1/community/pod-meetings/{meeting_id}/attendance", **meeting)
register("PATCH", "/api/v1/community/pod-meetings/{meeting_id}", **meeting,
         body=lambda v: {"notes": "x"})
register("POST", "/api/v1/community/pod-meetings/{meeting_id}/attendance", **meeting,
         body=lambda v: {"contact_id": str(v.pods_person.pk), "attended": True})
run = {"path": lambda v: {"run_id": v.matching_run.pk}}
register("GET", "/api/v1/community/pod-matching/{run_id}", **run)
register("POST", "/api/v1/community/pod-matching/{run_id}/adjust", **run,
         body=lambda v: {"contact_id": str(v.pods_person.pk), "pod": ""})
register("POST", "/api/v1/community/pod-matching/{run_id}/confirm", **run)

person = {"path": lambda v: {"contact_id": v.pods_person.pk}}
register("GET", "/api/v1/contacts/{contact_id}/pods-profile", **person)
register("PATCH", "/api/v1/contacts/{contact_id}/pods-profile", **person,
         body=lambda v: {"bio": "x"})
register("GET", "/api/v1/contacts/{contact_id}/commitments", **person)
register("POST", "/api/v1/contacts/{contact_id}/commitments", **person,
         body=lambda v: {"text": "run 5 km today"})
register("GET", "/api/v1/contacts/{contact_id}/goals", **person)
register("POST", "/api/v1/contacts/{contact_id}/goals", **person,
         body=lambda v: {"title": "Run a marathon"})
commitment = {"path": lambda v: {"commitment_id": v.commitment.pk}}
register("GET", "/api/v1/community/commitments/{commitment_id}", **commitment)
register("PATCH", "/api/v1/community/commitments/{commitment_id}", **commitment,
         body=lambda v: {"text": "run 5 km every morning", "difficulty": 2})
register("GET", "/api/v1/community/commitments/{commitment_id}/check-ins", **commitment)
register("POST", "/api/v1/community/commitments/{commitment_id}/status", **commitment,
         body=lambda v: {"status": "PAUSED"})
register("POST", "/api/v1/community/commitments/{commitment_id}/check-ins", **commitment,
         body=lambda v: {"done": True})
register("GET", "/api/v1/community/goals/{goal_id}",
         path=lambda v: {"goal_id": v.pod_goal.pk})
register("PATCH", "/api/v1/community/goals/{goal_id}",
         path=lambda v: {"goal_id": v.pod_goal.pk}, body=lambda v: {"progress": 50})
