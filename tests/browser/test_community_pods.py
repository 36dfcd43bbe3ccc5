"""In a real browser: create a pod, add a member, schedule meetings and record attendance;
propose pods for the people waiting, move one, confirm; see the KPI dashboard."""

import pytest
from playwright.sync_api import expect

from tend.community.models import PodMembership, PodsProfile
from tend.core.tenancy import tenant_scope
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pods_from_creation_to_matching(page, login, tenant, owner):
    with tenant_scope(tenant):
        nadia = Contact.objects.create(tenant=tenant, display_name="Nadia",
                                       time_zone="Europe/Berlin")
        for name in ("Omar", "Lea"):
            person = Contact.objects.create(tenant=tenant, display_name=name,
                                            time_zone="Europe/Paris")
            PodsProfile.objects.create(tenant=tenant, contact=person, waiting=True,
                                       goals_category="health")
    login("owner@example.com")

    page.goto("/o/acme/community/pods/")
    form = page.locator("#pod-form")
    form.get_by_label("Name").fill("Morning Movers")
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_label("Capacity").fill("4")
    form.get_by_role("button", name="Create pod").click()
    expect(page.locator("h1")).to_have_text("Morning Movers")
    expect(page.locator("#pod-schedule")).to_contain_text("Europe/Berlin")

    page.locator("#member-form").get_by_label("Contact id").fill(str(nadia.pk))
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#pod-members")).to_contain_text("Nadia")
    page.get_by_role("button", name="Schedule the next four weeks").click()
    first = page.locator("details.card").first
    first.locator("summary").click()
    first.get_by_label("present").check()
    first.get_by_role("button", name="Save attendance").click()
    expect(page.locator("#pod-members")).to_contain_text("1")

    page.goto("/o/acme/community/pods/matching/")
    page.get_by_role("button", name="Propose pods for everyone waiting").click()
    expect(page.locator("#proposal")).to_contain_text("Omar")
    expect(page.locator("#proposal")).to_contain_text("Lea")
    row = page.locator("#proposal tr", has_text="Lea")
    row.get_by_label("Pod").select_option(label="Morning Movers")
    row.get_by_role("button", name="Move").click()
    expect(page.locator("#proposal tr", has_text="Lea")).to_contain_text("moved by staff")
    page.get_by_role("button", name="Confirm and send intro cards").click()
    expect(page.locator("#proposal-heading")).to_have_text("Confirmed assignment")
    with tenant_scope(tenant):
        assert PodMembership.objects.filter(pod__name="Morning Movers").count() == 2
        assert PodMembership.objects.count() == 3

    page.goto("/o/acme/community/pods/kpis/")
    expect(page.locator("#kpi-new")).to_have_text("2")


def test_editing_commitments_goals_and_meeting_notes(page, login, tenant, owner):
    from django.utils import timezone

    from tend.community.models import Commitment, Goal, MeetingAttendance, Pod, PodMeeting
    from tend.community.services.pods_core import pod_join
    from tend.core.actors import Actor

    with tenant_scope(tenant):
        rana = Contact.objects.create(tenant=tenant, display_name="Rana",
                                      time_zone="Asia/Amman")
        pod = Pod.objects.create(tenant=tenant, name="Writers", time="19:00",
                                 time_zone="Asia/Amman")
        pod_join(tenant=tenant, actor=Actor.system(), pod=pod, contact=rana)
        meeting = PodMeeting.objects.create(tenant=tenant, pod=pod, scheduled_at=timezone.now())
    login("owner@example.com")

    # From the contact page to the person's progress page.
    page.goto(f"/o/acme/people/contacts/{rana.pk}/")
    page.locator("#pods-progress-link").click()
    goal_form = page.locator("#new-goal-form")
    goal_form.get_by_label("New goal").fill("Finish the novel")
    goal_form.get_by_label("Target date").fill("2027-06-30")
    goal_form.get_by_role("button", name="Add goal").click()
    expect(page.locator("#goal-title")).to_have_text("Finish the novel")

    # A bad progress value is reported on its field; a good one is saved with a summary.
    form = page.locator("#goal-form")
    form.get_by_label("Progress (%)").fill("a lot")
    form.get_by_role("button", name="Save goal").click()
    expect(page.locator('[data-field="progress"]')).to_have_text(
        "Enter a percentage from 0 to 100.")
    form.get_by_label("Progress (%)").fill("35")
    form.get_by_label("Add a summary (how it went)").fill("Chapter 4 drafted")
    form.get_by_role("button", name="Save goal").click()
    expect(page.locator("#goal-progress")).to_have_text("35%")
    expect(page.locator("#goal-summaries")).to_contain_text("Chapter 4 drafted")

    # A commitment toward the goal, first with a bad difficulty.
    page.get_by_role("link", name="Progress of Rana").click()
    new = page.locator("#new-commitment-form")
    new.get_by_label("New commitment").fill("write more")
    new.get_by_label("Difficulty (1 to 5)").fill("9")
    new.get_by_label("Goal").select_option(label="Finish the novel")
    new.get_by_role("button", name="Add commitment").click()
    expect(page.locator('[data-field="difficulty"]')).to_have_text(
        "Enter a difficulty from 1 to 5.")
    new = page.locator("#new-commitment-form")
    new.get_by_label("Difficulty (1 to 5)").fill("3")
    new.get_by_role("button", name="Add commitment").click()
    expect(page.locator("#commitment-text")).to_have_text("write more")

    # Edit it into a SMART commitment, then check in and close it.
    edit = page.locator("#commitment-form")
    edit.get_by_label("What will be done").fill("write 500 words before 9am every day")
    edit.get_by_label("Estimated minutes").fill("45")
    edit.get_by_role("button", name="Save commitment").click()
    expect(page.locator("#commitment-text")).to_have_text("write 500 words before 9am every day")
    expect(page.locator("#commitment-smart")).to_have_text("SMART 10/10")
    checkin = page.locator("#checkin-form")
    checkin.get_by_label("Note").fill("500 words at 8:40")
    checkin.get_by_label("This closes the commitment").check()
    checkin.get_by_role("button", name="Save check-in").click()
    expect(page.locator("#commitment-status")).to_have_text("Completed")
    expect(page.locator("#checkins")).to_contain_text("500 words at 8:40")

    # The meeting: agenda, notes, action items, energy and a rating.
    page.goto(f"/o/acme/community/pod-meetings/{meeting.pk}/")
    notes = page.locator("#meeting-form")
    notes.get_by_label("Energy level (1 to 10)").fill("11")
    notes.get_by_role("button", name="Save meeting").click()
    expect(page.locator('[data-field="energy_level"]')).to_have_text(
        "Enter a number from 1 to 10.")
    notes = page.locator("#meeting-form")
    notes.get_by_label("Agenda").fill("Wins, commitments, blockers")
    notes.get_by_label("Notes").fill("Rana finished chapter 4")
    notes.get_by_label("Action items (one per line)").fill("Rana: send chapter 4\nAll: read it")
    notes.get_by_label("Energy level (1 to 10)").fill("8")
    notes.get_by_role("button", name="Save meeting").click()
    expect(page.locator("#action-items li")).to_have_count(2)
    expect(page.locator("#meeting-energy")).to_have_text("8")
    row = page.locator("#meeting-members tr", has_text="Rana")
    row.get_by_label("present").check()
    row.get_by_label("Rating by Rana").fill("5")
    page.get_by_role("button", name="Save attendance and ratings").click()
    expect(page.locator("#meeting-attendance")).to_have_text("100.0%")

    with tenant_scope(tenant):
        assert Goal.objects.get().progress == 35
        commitment = Commitment.objects.get()
        assert (commitment.original_text, commitment.estimated_minutes) == ("write more", 45)
        assert MeetingAttendance.objects.get().rating == 5
        assert PodMeeting.objects.get().action_items == ["Rana: send chapter 4", "All: read it"]
