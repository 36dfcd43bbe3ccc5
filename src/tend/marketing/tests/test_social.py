"""Social posts against the local fake of the five platforms: connecting by token (asked of
the platform first), publishing at most once per account from the tick, retrying transient
errors, marking refused tokens, engagement sync, validation, the API and the pages."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key, signed_in
from tend.marketing.models import (
    SocialConnectionStatus,
    SocialPost,
    SocialPostStatus,
    SocialPostTarget,
    SocialTargetStatus,
)
from tend.marketing.services import social as svc
from tend.marketing.social.fakes import FakeSocial
from tend.messaging.fakes.base import Response

SYSTEM = Actor.system()
PLATFORMS = ("FACEBOOK", "INSTAGRAM", "TWITTER", "LINKEDIN", "TIKTOK")
MEDIA = [{"url": "https://cdn.example.org/a.jpg", "type": "image"},
         {"url": "https://cdn.example.org/a.mp4", "type": "video"}]
API = "/api/v1"
J = "application/json"


@pytest.fixture
def fake():
    with FakeSocial() as server:
        yield server


def connect(tenant, fake, platform):
    account = {"FACEBOOK": fake.page_id, "INSTAGRAM": fake.ig_user_id}.get(platform, "")
    return svc.social_connection_create(tenant=tenant, actor=SYSTEM, platform=platform,
                                        access_token=fake.tokens[platform],
                                        account_id=account, api_base=fake.url)


def post_to(tenant, connections, **data):
    return svc.social_post_create(tenant=tenant, actor=SYSTEM, data={
        "content": "Club championship this Saturday", "hashtags": ["golf", "#golf", "club"],
        "connection_ids": [str(c.pk) for c in connections], **data})


def test_connect_asks_the_platform(scoped, fake):
    got = {p: connect(scoped, fake, p) for p in PLATFORMS}
    assert got["FACEBOOK"].name == "Fairway Golf Club"
    assert got["TWITTER"].account_id == fake.x_user_id
    assert got["TWITTER"].settings["username"] == "fairwaygolf"
    assert got["LINKEDIN"].account_id == "urn:li:person:a1b2c3d4"
    assert got["TIKTOK"].account_id == fake.tt_open_id
    assert got["INSTAGRAM"].name == "fairwaygolf"
    assert fake.tokens["TWITTER"] not in got["TWITTER"].access_token_encrypted
    # The same account again replaces the token instead of adding a row.
    assert connect(scoped, fake, "TWITTER").pk == got["TWITTER"].pk
    with pytest.raises(ValidationFailed) as exc:
        svc.social_connection_create(tenant=scoped, actor=SYSTEM, platform="TWITTER",
                                     access_token="wrong", api_base=fake.url)
    assert list(exc.value.fields) == ["access_token"]
    with pytest.raises(ValidationFailed) as exc:
        svc.social_connection_create(tenant=scoped, actor=SYSTEM, platform="FACEBOOK",
                                     access_token="x")
    assert list(exc.value.fields) == ["account_id"]


def test_publish_everywhere_once(scoped, fake):
    connections = [connect(scoped, fake, p) for p in PLATFORMS]
    post = post_to(scoped, connections, media=MEDIA, link="https://fairway.example.org/cc")
    assert post.hashtags == ["golf", "club"]
    svc.social_post_schedule(tenant=scoped, actor=SYSTEM, post=post,
                             at=timezone.now() + timedelta(hours=1))
    assert svc.social_publish_due(tenant=scoped) == 0  # not due yet
    later = timezone.now() + timedelta(hours=2)
    assert svc.social_publish_due(tenant=scoped, now=later) == 1
    post.refresh_from_db()
    assert post.status == SocialPostStatus.PUBLISHED and post.published_at is not None
    targets = {t.connection.platform: t for t in post.targets.select_related("connection")}
    assert all(t.status == SocialTargetStatus.PUBLISHED for t in targets.values())
    assert targets["TWITTER"].url == (
        f"https://x.com/fairwaygolf/status/{targets['TWITTER'].platform_post_id}")
    assert targets["LINKEDIN"].platform_post_id.startswith("urn:li:share:")
    assert targets["FACEBOOK"].platform_post_id.startswith(fake.page_id + "_")
    assert targets["INSTAGRAM"].url.startswith("https://www.instagram.com/p/")
    assert targets["TIKTOK"].url.startswith("https://www.tiktok.com/@")
    assert sorted(p.platform for p in fake.posts) == sorted(PLATFORMS)
    tweet = fake.published("TWITTER")[0]
    assert tweet.text == ("Club championship this Saturday\n\n#golf #club\n\n"
                          "https://fairway.example.org/cc")
    assert fake.published("INSTAGRAM")[0].media == ["https://cdn.example.org/a.jpg"]
    assert fake.published("TIKTOK")[0].media == ["https://cdn.example.org/a.mp4"]
    # Ticks after that publish nothing more.
    assert svc.social_publish_due(tenant=scoped, now=later + timedelta(hours=1)) == 0
    assert len(fake.posts) == 5


def test_transient_error_retries_only_what_failed(scoped, fake):
    x, li = connect(scoped, fake, "TWITTER"), connect(scoped, fake, "LINKEDIN")
    post = post_to(scoped, [x, li])
    fake.script(Response.json(503, {"title": "Service Unavailable"}), op="tweets")
    svc.social_post_schedule(tenant=scoped, actor=SYSTEM, post=post, at=timezone.now())
    svc.social_publish_due(tenant=scoped)
    post.refresh_from_db()
    assert post.status == SocialPostStatus.SCHEDULED and post.attempts == 1
    assert post.next_attempt_at > timezone.now()
    statuses = dict(post.targets.values_list("connection__platform", "status"))
    assert statuses == {"TWITTER": "PENDING", "LINKEDIN": "PUBLISHED"}
    svc.social_publish_due(tenant=scoped, now=post.next_attempt_at)
    post.refresh_from_db()
    assert post.status == SocialPostStatus.PUBLISHED
    assert (len(fake.published("TWITTER")), len(fake.published("LINKEDIN"))) == (1, 1)


def test_refused_token_fails_and_flags_the_account(scoped, fake):
    x = connect(scoped, fake, "TWITTER")
    post = post_to(scoped, [x])
    fake.tokens["TWITTER"] = "rotated-on-the-platform"
    svc.social_post_schedule(tenant=scoped, actor=SYSTEM, post=post, at=None)
    svc.social_publish_due(tenant=scoped)
    post.refresh_from_db()
    x.refresh_from_db()
    assert post.status == SocialPostStatus.FAILED and "Unauthorized" in post.error
    assert x.status == SocialConnectionStatus.ERROR and x.last_error == "Unauthorized"


def test_a_worker_dying_mid_call_never_posts_twice(scoped, fake):
    x, li = connect(scoped, fake, "TWITTER"), connect(scoped, fake, "LINKEDIN")
    post = post_to(scoped, [x, li])
    svc.social_post_schedule(tenant=scoped, actor=SYSTEM, post=post, at=None)
    # As if a worker claimed the post, marked the X target and died during the call.
    past = timezone.now() - timedelta(minutes=10)
    SocialPost.objects.filter(pk=post.pk).update(status=SocialPostStatus.PUBLISHING,
                                                 lease_until=past)
    SocialPostTarget.objects.filter(post=post, connection=x).update(
        status=SocialTargetStatus.PUBLISHING)
    assert svc.social_publish_due(tenant=scoped) == 1
    post.refresh_from_db()
    statuses = dict(post.targets.values_list("connection__platform", "status"))
    assert statuses == {"TWITTER": "FAILED", "LINKEDIN": "PUBLISHED"}
    assert post.status == SocialPostStatus.FAILED
    assert "outcome unknown" not in post.error and svc.UNKNOWN_OUTCOME in post.error
    assert fake.published("TWITTER") == []


def test_a_live_lease_is_not_taken(scoped, fake):
    x = connect(scoped, fake, "TWITTER")
    post = post_to(scoped, [x])
    svc.social_post_schedule(tenant=scoped, actor=SYSTEM, post=post, at=None)
    SocialPost.objects.filter(pk=post.pk).update(
        status=SocialPostStatus.PUBLISHING, lease_until=timezone.now() + timedelta(minutes=1))
    assert svc.social_publish_due(tenant=scoped) == 0


def test_metrics_sync(scoped, fake):
    x, fb = connect(scoped, fake, "TWITTER"), connect(scoped, fake, "FACEBOOK")
    post = post_to(scoped, [x, fb])
    svc.social_post_schedule(tenant=scoped, actor=SYSTEM, post=post, at=None)
    svc.social_publish_due(tenant=scoped)
    tx = SocialPostTarget.objects.get(post=post, connection=x)
    tf = SocialPostTarget.objects.get(post=post, connection=fb)
    fake.set_metrics(tx.platform_post_id, likes=7, comments=2, shares=3, impressions=500)
    fake.set_metrics(tf.platform_post_id, likes=11, comments=4, shares=1)
    assert svc.social_metrics_sync(tenant=scoped) == 2
    tx.refresh_from_db()
    tf.refresh_from_db()
    assert (tx.likes, tx.comments, tx.shares, tx.impressions) == (7, 2, 3, 500)
    assert (tf.likes, tf.comments, tf.shares) == (11, 4, 1)


def test_schedule_checks_each_platform(scoped, fake):
    ig, x = connect(scoped, fake, "INSTAGRAM"), connect(scoped, fake, "TWITTER")
    post = post_to(scoped, [ig, x], content="x" * 300)
    with pytest.raises(ValidationFailed) as exc:
        svc.social_post_schedule(tenant=scoped, actor=SYSTEM, post=post, at=None)
    assert set(exc.value.fields) == {"media", "content"}
    draft = post_to(scoped, [], content="")
    with pytest.raises(ValidationFailed) as exc:
        svc.social_post_schedule(tenant=scoped, actor=SYSTEM, post=draft, at=None)
    assert set(exc.value.fields) == {"content", "connection_ids"}


def test_api_and_calendar(tenant, owner, fake):
    perms = ["social.view", "social.add", "social.change", "social.send", "social.manage",
             "social.delete"]
    _key, secret = make_key(tenant, owner, perms)
    api = Client(headers=bearer(secret))
    bad = api.post(f"{API}/social/connections", {"platform": "TWITTER", "access_token": "no",
                                                 "api_base": fake.url}, content_type=J)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "access_token"
    made = api.post(f"{API}/social/connections", {
        "platform": "TWITTER", "access_token": fake.tokens["TWITTER"], "api_base": fake.url},
        content_type=J)
    assert made.status_code == 201, made.content
    cid = made.json()["id"]
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    post = api.post(f"{API}/social/posts", {"content": "Tee times open",
                                            "connection_ids": [cid],
                                            "scheduled_at": at.isoformat()}, content_type=J)
    assert post.status_code == 201, post.content
    pid = post.json()["id"]
    assert post.json()["status"] == "DRAFT"
    scheduled = api.post(f"{API}/social/posts/{pid}/schedule", {}, content_type=J).json()
    assert (scheduled["status"], scheduled["scheduled_at"][:16]) == (
        "SCHEDULED", at.isoformat()[:16])
    local = at.astimezone(timezone.get_default_timezone())
    weeks = api.get(f"{API}/social/calendar?year={local.year}&month={local.month}").json()
    days = [d for week in weeks for d in week if d["posts"]]
    assert [p["id"] for d in days for p in d["posts"]] == [pid]
    assert api.post(f"{API}/social/posts/{pid}/unschedule").json()["status"] == "DRAFT"
    assert api.delete(f"{API}/social/posts/{pid}").status_code == 204


def test_pages(tenant, owner, fake, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    base = f"/o/{tenant.slug}/marketing/social/"
    assert client.get(base).status_code == 200
    for year, month in (("1", "1"), ("9999", "12"), ("x", "2")):
        assert client.get(base, {"year": year, "month": month}).status_code == 200
    connected = client.post(f"{base}accounts/", {"platform": "LINKEDIN",
                                                 "access_token": fake.tokens["LINKEDIN"],
                                                 "api_base": fake.url})
    assert connected.status_code == 302
    with tenant_scope(tenant):
        from tend.marketing.models import SocialConnection

        conn = SocialConnection.objects.get()
    for impossible in ("2030-02-30T10:00", "next tuesday"):
        refused = client.post(f"{base}new/", {"content": "Not now",
                                              "connection_ids": [str(conn.pk)],
                                              "scheduled_at": impossible, "action": "schedule"})
        assert refused.status_code == 422
    assert fake.published("LINKEDIN") == []
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(f"{base}new/", {"content": "Hello members",
                                           "connection_ids": [str(conn.pk)],
                                           "scheduled_at": "", "action": "schedule"})
    assert made.status_code == 302
    # The immediate task backend published it after commit.
    assert [p.text for p in fake.published("LINKEDIN")] == ["Hello members"]
    page = client.get(made["Location"])
    assert b"Published" in page.content
    assert b"Hello members" in client.get(base).content


def test_the_tick_publishes_due_posts(tenant, fake):
    from tend.core.tenancy import system_scope
    from tend.marketing.tasks_automation import social_publish_tick

    with tenant_scope(tenant):
        post = post_to(tenant, [connect(tenant, fake, "TWITTER")])
        svc.social_post_schedule(tenant=tenant, actor=SYSTEM, post=post, at=None)
    with system_scope():
        assert social_publish_tick(timezone.now()) == 1
    assert len(fake.published("TWITTER")) == 1
