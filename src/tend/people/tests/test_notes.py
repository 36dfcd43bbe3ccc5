import pytest

from tend.core.errors import NotFound, PermissionDenied, ValidationFailed
from tend.core.models import AuditLog
from tend.people.markdown import plain_excerpt, render_markdown
from tend.people.models import Activity, Note
from tend.people.selectors.notes import note_get, note_list
from tend.people.services.notes import note_create, note_delete, note_pin, note_update
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor


@pytest.fixture
def actor(tenant, owner):
    return member_actor(tenant, owner)


@pytest.fixture
def contact(tenant):
    return make_contact(tenant)


@pytest.fixture
def colleague(tenant, make_user):
    user = make_user("colleague@example.com", full_name="Cal Colleague")
    add_member(tenant, user, "manager")
    return member_actor(tenant, user)


def test_markdown_is_rendered_and_sanitized():
    html = render_markdown("**Hi** <script>alert(1)</script> [x](javascript:alert(1)) "
                           "[y](https://example.com)")
    assert html == ('<p><strong>Hi</strong>  <a rel="noopener noreferrer nofollow">x</a> '
                    '<a href="https://example.com" rel="noopener noreferrer nofollow">y</a></p>')
    assert plain_excerpt("# Title\n\nSome **bold** & <b>x</b>") == "Title Some bold & x"
    assert plain_excerpt("word " * 100, limit=12) == "word word…"


def test_create_records_activity_and_audit(scoped, actor, contact, owner):
    note = note_create(tenant=scoped, actor=actor, contact=contact, body="Called about **dues**",
                       type="SUPPORT")
    assert (note.author, note.type, note.is_private) == (owner, "SUPPORT", False)
    activity = Activity.objects.get(contact=contact)
    assert (activity.type, activity.category, activity.title, activity.description,
            activity.related_type, activity.related_id) == (
        "NOTE_ADDED", "SUPPORT", "Support", "Called about dues", "people.note", str(note.pk))
    entry = AuditLog.objects.filter(action="note.created").get()
    assert entry.entity_id == str(note.pk)


def test_create_rejects_bad_input_with_field_errors(scoped, actor, contact):
    with pytest.raises(ValidationFailed) as err:
        note_create(tenant=scoped, actor=actor, contact=contact, body="  ", type="NOPE")
    assert sorted(err.value.fields) == ["body", "type"]
    assert Note.objects.count() == 0


def test_create_needs_permission(scoped, tenant, make_user, contact):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        note_create(tenant=scoped, actor=member_actor(tenant, viewer), contact=contact, body="x")


def test_merged_contact_takes_no_notes(scoped, actor, tenant):
    merged = make_contact(tenant, status="MERGED")
    with pytest.raises(ValidationFailed) as err:
        note_create(tenant=scoped, actor=actor, contact=merged, body="hello")
    assert list(err.value.fields) == ["contact"]


def test_private_notes_are_visible_to_their_author_only(scoped, actor, colleague, contact):
    private = note_create(tenant=scoped, actor=actor, contact=contact, body="secret thought",
                          is_private=True)
    shared = note_create(tenant=scoped, actor=colleague, contact=contact, body="shared")
    assert [n.pk for n in note_list(tenant=scoped, actor=actor, contact=contact)] == [
        shared.pk, private.pk]
    assert [n.pk for n in note_list(tenant=scoped, actor=colleague, contact=contact)] == [
        shared.pk]
    with pytest.raises(NotFound):
        note_get(tenant=scoped, actor=colleague, note_id=private.pk)
    activity = Activity.objects.get(related_id=str(private.pk))
    assert (activity.description, activity.metadata["private"]) == ("", True)
    with pytest.raises(PermissionDenied):
        note_update(tenant=scoped, actor=colleague, note=private, body="changed")


def test_pinned_notes_come_first(scoped, actor, contact):
    first = note_create(tenant=scoped, actor=actor, contact=contact, body="first")
    second = note_create(tenant=scoped, actor=actor, contact=contact, body="second")
    note_pin(tenant=scoped, actor=actor, note=first)
    assert [n.body for n in note_list(tenant=scoped, actor=actor, contact=contact)] == [
        "first", "second"]
    note_pin(tenant=scoped, actor=actor, note=first, pinned=False)
    assert [n.pk for n in note_list(tenant=scoped, actor=actor, contact=contact)] == [
        second.pk, first.pk]
    assert list(AuditLog.objects.filter(action__startswith="note.").order_by("seq")
                .values_list("action", flat=True)) == [
        "note.created", "note.created", "note.pinned", "note.unpinned"]


def test_update_changes_body_and_timeline_excerpt(scoped, actor, contact):
    note = note_create(tenant=scoped, actor=actor, contact=contact, body="old")
    note_update(tenant=scoped, actor=actor, note=note, body="new *text*", type="FEEDBACK")
    note.refresh_from_db()
    assert (note.body, note.type) == ("new *text*", "FEEDBACK")
    assert Activity.objects.get(related_id=str(note.pk)).description == "new text"
    entry = AuditLog.objects.filter(action="note.updated").get()
    assert entry.changes == {"fields": ["body", "type"]}


def test_only_the_author_makes_a_note_private(scoped, actor, colleague, contact):
    note = note_create(tenant=scoped, actor=actor, contact=contact, body="mine")
    with pytest.raises(ValidationFailed) as err:
        note_update(tenant=scoped, actor=colleague, note=note, is_private=True)
    assert list(err.value.fields) == ["is_private"]


def test_delete_removes_note_and_its_activity(scoped, actor, contact):
    note = note_create(tenant=scoped, actor=actor, contact=contact, body="bye")
    note_delete(tenant=scoped, actor=actor, note=note)
    assert (Note.objects.count(), Activity.objects.count()) == (0, 0)
    assert AuditLog.objects.filter(action="note.deleted").count() == 1
