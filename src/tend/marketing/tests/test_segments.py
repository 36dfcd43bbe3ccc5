import pytest

from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import AuditLog
from tend.marketing.models import Segment, SegmentCount, SegmentMembership, SegmentRefresh
from tend.marketing.services.membership import (
    segment_add_members,
    segment_refresh,
    segment_remove_members,
    segments_reevaluate_contact,
)
from tend.marketing.services.segments import segment_create, segment_delete, segment_update
from tend.marketing.tests.helpers import city_rule, member_ids
from tend.people.models import Activity
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor


@pytest.fixture
def actor(tenant, owner):
    return member_actor(tenant, owner)


def test_new_organization_gets_the_system_segments(scoped):
    system = Segment.objects.filter(tenant=scoped, is_system=True)
    assert sorted(system.values_list("system_key", flat=True)) == [
        "active_members", "all", "at_risk", "high_engagement", "recently_added"]
    assert all(s.type == "DYNAMIC" and s.last_refreshed_at for s in system)


def test_static_list_add_and_remove_write_activities_counts_and_history(scoped, actor):
    a, b = make_contact(scoped, first_name="Ada"), make_contact(scoped, first_name="Bo")
    segment = segment_create(tenant=scoped, actor=actor, data={"name": "VIP", "type": "STATIC"})
    assert segment_add_members(tenant=scoped, actor=actor, segment=segment,
                               contact_ids=[a.pk, b.pk, a.pk]) == 2
    assert segment_add_members(tenant=scoped, actor=actor, segment=segment,
                               contact_ids=[a.pk]) == 0
    segment.refresh_from_db()
    assert segment.member_count == 2
    assert member_ids(segment) == {str(a.pk), str(b.pk)}
    membership = SegmentMembership.objects.get(segment=segment, contact=a)
    assert (membership.source, membership.added_by_id) == ("MANUAL", actor.user.pk)
    assert Activity.objects.filter(type="SEGMENT_ENTERED", title="VIP").count() == 2
    assert segment_remove_members(tenant=scoped, actor=actor, segment=segment,
                                  contact_ids=[b.pk]) == 1
    segment.refresh_from_db()
    assert segment.member_count == 1
    left = Activity.objects.get(type="SEGMENT_LEFT")
    assert (left.contact_id, left.metadata["segment_id"]) == (b.pk, str(segment.pk))
    assert list(SegmentCount.objects.filter(segment=segment).values_list(
        "member_count", flat=True)) == [1]
    assert AuditLog.objects.filter(action="segment.members_added").count() == 1


def test_other_organizations_contacts_are_skipped(scoped, actor, make_tenant):
    other = make_tenant("Other", slug="other")
    stranger = make_contact(other)
    segment = segment_create(tenant=scoped, actor=actor, data={"name": "VIP"})
    assert segment_add_members(tenant=scoped, actor=actor, segment=segment,
                               contact_ids=[stranger.pk]) == 0


def test_dynamic_segment_fills_then_refresh_applies_the_difference(scoped, actor):
    a = make_contact(scoped, first_name="Ada", city="dubai")
    b = make_contact(scoped, first_name="Bo", city="muscat")
    segment = segment_create(tenant=scoped, actor=actor, data={
        "name": "dubai", "type": "DYNAMIC", "rule": city_rule("dubai")})
    assert member_ids(segment) == {str(a.pk)}
    assert segment.member_count == 1
    # The first fill is the segment beginning, not people entering it.
    assert not Activity.objects.filter(type="SEGMENT_ENTERED").exists()
    type(a).objects.filter(pk=a.pk).update(city="sharjah")
    type(b).objects.filter(pk=b.pk).update(city="dubai")
    refresh = segment_refresh(tenant=scoped, actor=actor, segment=segment)
    assert (refresh.added, refresh.removed, refresh.member_count) == (1, 1, 1)
    assert member_ids(segment) == {str(b.pk)}
    assert set(Activity.objects.filter(type__startswith="SEGMENT_").values_list(
        "type", "contact_id")) == {("SEGMENT_ENTERED", b.pk), ("SEGMENT_LEFT", a.pk)}
    again = segment_refresh(tenant=scoped, actor=actor, segment=segment)
    assert (again.added, again.removed) == (0, 0)
    assert SegmentRefresh.objects.filter(segment=segment).count() == 3


def test_a_contact_change_moves_it_in_the_background(scoped, actor,
                                                     django_capture_on_commit_callbacks):
    from tend.people.services.contacts import contact_update

    contact = make_contact(scoped, first_name="Ada", city="muscat")
    segment = segment_create(tenant=scoped, actor=actor, data={
        "name": "dubai", "type": "DYNAMIC", "rule": city_rule("dubai")})
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(tenant=scoped, actor=actor, contact=contact, data={"city": "dubai"})
    segment.refresh_from_db()
    assert member_ids(segment) == {str(contact.pk)}
    assert segment.member_count == 1
    assert Activity.objects.filter(type="SEGMENT_ENTERED", contact=contact).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(tenant=scoped, actor=actor, contact=contact, data={"city": "doha"})
    assert member_ids(segment) == set()


def test_reevaluation_only_touches_segments_depending_on_the_change(scoped, actor):
    contact = make_contact(scoped, first_name="Ada", city="muscat")
    segment = segment_create(tenant=scoped, actor=actor, data={
        "name": "dubai", "type": "DYNAMIC", "rule": city_rule("dubai")})
    type(contact).objects.filter(pk=contact.pk).update(city="dubai")
    assert segments_reevaluate_contact(tenant=scoped, contact_id=contact.pk,
                                       kinds=["tag"]) == {}
    assert segments_reevaluate_contact(tenant=scoped, contact_id=contact.pk,
                                       kinds=["contact:city"]) == {str(segment.pk): "entered"}


def test_segment_in_segment_follows_and_cycles_are_refused(scoped, actor,
                                                           django_capture_on_commit_callbacks):
    contact = make_contact(scoped, first_name="Ada", city="dubai")
    base = segment_create(tenant=scoped, actor=actor, data={"name": "Base", "type": "STATIC"})
    inner = segment_create(tenant=scoped, actor=actor, data={
        "name": "Inner", "type": "DYNAMIC", "rule": {"combinator": "and", "rules": [
            {"field": "segment", "operator": "equals", "value": str(base.pk)}]}})
    outer = segment_create(tenant=scoped, actor=actor, data={
        "name": "Outer", "type": "DYNAMIC", "rule": {"combinator": "and", "rules": [
            {"field": "segment", "operator": "equals", "value": str(inner.pk)}]}})
    with django_capture_on_commit_callbacks(execute=True):
        segment_add_members(tenant=scoped, actor=actor, segment=base, contact_ids=[contact.pk])
    assert member_ids(inner) == {str(contact.pk)}
    assert member_ids(outer) == {str(contact.pk)}
    with pytest.raises(ValidationFailed) as exc:
        segment_update(tenant=scoped, actor=actor, segment=inner, data={"rule": {
            "combinator": "and", "rules": [
                {"field": "segment", "operator": "equals", "value": str(outer.pk)}]}})
    assert "rule" in exc.value.fields
    with pytest.raises(Conflict):
        segment_delete(tenant=scoped, actor=actor, segment=inner)


def test_validation_names_fields(scoped, actor):
    segment_create(tenant=scoped, actor=actor, data={"name": "VIP"})
    with pytest.raises(ValidationFailed) as exc:
        segment_create(tenant=scoped, actor=actor, data={"name": "vip", "owner": 1})
    assert set(exc.value.fields) == {"name", "owner"}
    with pytest.raises(ValidationFailed) as exc:
        segment_create(tenant=scoped, actor=actor, data={
            "name": "Bad", "type": "DYNAMIC", "rule": {"combinator": "and", "rules": [
                {"field": "nope", "operator": "equals", "value": 1}]}})
    assert list(exc.value.fields) == ["rule.rules[0].field"]


def test_system_segments_cannot_be_deleted_or_renamed(scoped, actor):
    everyone = Segment.objects.get(tenant=scoped, system_key="all")
    with pytest.raises(Conflict):
        segment_delete(tenant=scoped, actor=actor, segment=everyone)
    with pytest.raises(ValidationFailed):
        segment_update(tenant=scoped, actor=actor, segment=everyone, data={"name": "Everyone"})
    segment_update(tenant=scoped, actor=actor, segment=everyone, data={"is_active": False})


def test_viewer_cannot_change_segments(scoped, make_user):
    viewer = make_user("viewer@example.com")
    add_member(scoped, viewer, "viewer")
    actor = member_actor(scoped, viewer)
    with pytest.raises(PermissionDenied):
        segment_create(tenant=scoped, actor=actor, data={"name": "VIP"})


def test_an_import_refreshes_dynamic_segments_once_it_is_done(
        scoped, actor, django_capture_on_commit_callbacks):
    from tend.people.services.imports import contact_import_run
    from tend.people.tests.test_imports_services import make_import

    segment = segment_create(tenant=scoped, actor=actor, data={
        "name": "dubai", "type": "DYNAMIC", "rule": city_rule("dubai")})
    imp = make_import(scoped, "Email,City\nnoor@example.com,Dubai\nsam@example.com,Muscat\n")
    with django_capture_on_commit_callbacks(execute=True):
        contact_import_run(tenant=scoped, imp=imp)
    noor = Activity.objects.get(type="CONTACT_IMPORTED", contact__primary_email="noor@example.com")
    assert member_ids(segment) == {str(noor.contact_id)}
    assert SegmentRefresh.objects.filter(segment=segment, trigger="BULK").count() == 1
    assert Activity.objects.filter(type="SEGMENT_ENTERED", contact_id=noor.contact_id).exists()


def test_segments_refresh_together_in_reference_order_with_one_write_each(
        scoped, actor, django_capture_on_commit_callbacks):
    from tend.marketing.services.membership import segments_refresh

    a = make_contact(scoped, first_name="Ada", city="dubai")
    b = make_contact(scoped, first_name="Bo", city="muscat")
    dubai = segment_create(tenant=scoped, actor=actor, data={
        "name": "dubai", "type": "DYNAMIC", "rule": city_rule("dubai")})
    nested = segment_create(tenant=scoped, actor=actor, data={
        "name": "in dubai", "type": "DYNAMIC", "rule": {"combinator": "and", "rules": [
            {"field": "segment", "operator": "equals", "value": str(dubai.pk)}]}})
    assert member_ids(nested) == {str(a.pk)}
    type(a).objects.filter(pk=a.pk).update(city="sharjah")
    type(b).objects.filter(pk=b.pk).update(city="dubai")
    with django_capture_on_commit_callbacks(execute=True):
        refreshes = segments_refresh(tenant=scoped, actor=actor, segments=[nested, dubai],
                                     trigger="SCHEDULE")
    # The referenced segment first, so the nested one sees its new members at once.
    assert [r.segment_id for r in refreshes] == [dubai.pk, nested.pk]
    assert [(r.added, r.removed, r.member_count) for r in refreshes] == [(1, 1, 1), (1, 1, 1)]
    assert member_ids(dubai) == member_ids(nested) == {str(b.pk)}
    for segment in (dubai, nested):
        segment.refresh_from_db()
        assert segment.member_count == 1
        assert SegmentCount.objects.get(segment=segment).member_count == 1
        assert set(Activity.objects.filter(
            type__startswith="SEGMENT_", metadata__segment_id=str(segment.pk)).values_list(
            "type", "contact_id")) == {("SEGMENT_ENTERED", b.pk), ("SEGMENT_LEFT", a.pk)}
    again = segments_refresh(tenant=scoped, actor=actor, segments=[dubai, nested],
                             trigger="SCHEDULE")
    assert [(r.added, r.removed) for r in again] == [(0, 0), (0, 0)]
    assert SegmentRefresh.objects.filter(segment=dubai).count() == 3


def test_one_contact_enters_and_leaves_several_segments_at_once(scoped, actor):
    contact = make_contact(scoped, first_name="Ada", city="muscat")
    dubai = segment_create(tenant=scoped, actor=actor, data={
        "name": "dubai", "type": "DYNAMIC", "rule": city_rule("dubai")})
    muscat = segment_create(tenant=scoped, actor=actor, data={
        "name": "muscat", "type": "DYNAMIC", "rule": city_rule("muscat")})
    nested = segment_create(tenant=scoped, actor=actor, data={
        "name": "not in dubai", "type": "DYNAMIC", "rule": {"combinator": "and", "rules": [
            {"field": "segment", "operator": "notEquals", "value": str(dubai.pk)}]}})
    assert member_ids(muscat) == member_ids(nested) == {str(contact.pk)}
    type(contact).objects.filter(pk=contact.pk).update(city="dubai")
    moves = segments_reevaluate_contact(tenant=scoped, contact_id=contact.pk,
                                        kinds=["contact:city"])
    assert moves == {str(dubai.pk): "entered", str(muscat.pk): "left",
                     str(nested.pk): "left"}
    counts = dict(Segment.objects.filter(pk__in=[dubai.pk, muscat.pk, nested.pk]).values_list(
        "name", "member_count"))
    assert counts == {"dubai": 1, "muscat": 0, "not in dubai": 0}
    assert member_ids(dubai) == {str(contact.pk)}
    assert member_ids(muscat) == member_ids(nested) == set()
    assert Activity.objects.filter(type="SEGMENT_LEFT", contact=contact).count() == 2
    assert SegmentCount.objects.get(segment=muscat).member_count == 0
    # Applying the same decision again changes nothing.
    assert segments_reevaluate_contact(tenant=scoped, contact_id=contact.pk,
                                       kinds=["contact:city"]) == {}
