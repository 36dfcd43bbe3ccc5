"""The five platform adapters, each on the platform's documented HTTP API.

- Facebook pages: Graph API `POST /{page-id}/feed` (text + link) or `/{page-id}/photos`
  (with an image); engagement from `GET /{post-id}?fields=likes.summary(true),
  comments.summary(true),shares`.
- Instagram (professional accounts): `POST /{ig-user-id}/media` (a container with
  `image_url` or `video_url` + caption) then `POST /{ig-user-id}/media_publish`; engagement
  from `GET /{media-id}?fields=like_count,comments_count,permalink`.
- X: API v2 `POST /2/tweets` with a user-context bearer token; `GET /2/users/me`;
  `GET /2/tweets/{id}?tweet.fields=public_metrics`.
- LinkedIn: `POST /rest/posts` (versioned API; the new post's URN in `x-restli-id`), the
  author from `settings["author"]` or the token's member (`GET /v2/userinfo`);
  `GET /rest/socialActions/{urn}` for likes and comments.
- TikTok: Content Posting API `POST /v2/post/publish/video/init/` pulling the video from a
  URL (`PULL_FROM_URL`); `GET /v2/user/info/`; engagement from `POST /v2/video/query/`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tend.marketing.social.base import (
    Account,
    Conn,
    Metrics,
    PostContent,
    Published,
    SocialError,
    SocialProvider,
    register_social_provider,
)

GRAPH_VERSION = "v21.0"
LINKEDIN_VERSION = "202501"


def _first_media(content: PostContent, kind: str | None = None) -> str:
    for item in content.media:
        if kind is None or item.get("type", "image") == kind:
            return str(item.get("url") or "")
    return ""


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


class FacebookProvider(SocialProvider):
    platform = "FACEBOOK"
    default_api_base = "https://graph.facebook.com"
    max_text = 60_000

    def check(self, conn: Conn) -> Account:
        with self.client(conn) as http:
            data = self.answer(self.call(http.get, f"/{GRAPH_VERSION}/me",
                                         params={"fields": "id,name",
                                                 "access_token": conn.token}))
        return Account(str(data.get("id") or ""), str(data.get("name") or ""))

    def publish(self, conn: Conn, content: PostContent) -> Published:
        image = _first_media(content, "image")
        with self.client(conn) as http:
            if image:
                data = self.answer(self.call(
                    http.post, f"/{GRAPH_VERSION}/{conn.account_id}/photos",
                    data={"url": image, "caption": "\n\n".join(
                        p for p in (content.text, content.link) if p),
                        "access_token": conn.token}))
                post_id = str(data.get("post_id") or data.get("id") or "")
            else:
                form = {"message": content.text, "access_token": conn.token}
                if content.link:
                    form["link"] = content.link
                data = self.answer(self.call(http.post,
                                             f"/{GRAPH_VERSION}/{conn.account_id}/feed",
                                             data=form))
                post_id = str(data.get("id") or "")
        if not post_id:
            raise SocialError("Facebook answered without a post id")
        return Published(post_id, f"https://www.facebook.com/{post_id}")

    def metrics(self, conn: Conn, post_id: str) -> Metrics:
        with self.client(conn) as http:
            data = self.answer(self.call(http.get, f"/{GRAPH_VERSION}/{post_id}", params={
                "fields": "likes.summary(true),comments.summary(true),shares",
                "access_token": conn.token}))
        return Metrics(
            likes=_count(((data.get("likes") or {}).get("summary") or {}).get("total_count")),
            comments=_count(((data.get("comments") or {}).get("summary") or {}
                             ).get("total_count")),
            shares=_count((data.get("shares") or {}).get("count")))


class InstagramProvider(SocialProvider):
    platform = "INSTAGRAM"
    default_api_base = "https://graph.facebook.com"
    needs_media = True
    max_text = 2200

    def check(self, conn: Conn) -> Account:
        with self.client(conn) as http:
            data = self.answer(self.call(http.get, f"/{GRAPH_VERSION}/{conn.account_id}",
                                         params={"fields": "id,username",
                                                 "access_token": conn.token}))
        return Account(str(data.get("id") or ""), str(data.get("username") or ""))

    def publish(self, conn: Conn, content: PostContent) -> Published:
        image, video = _first_media(content, "image"), _first_media(content, "video")
        if not image and not video:
            raise SocialError("Instagram needs an image or a video", permanent=True)
        form = {"caption": content.text, "access_token": conn.token}
        if image:
            form["image_url"] = image
        else:
            form.update(video_url=video, media_type="REELS")
        with self.client(conn) as http:
            container = self.answer(self.call(
                http.post, f"/{GRAPH_VERSION}/{conn.account_id}/media", data=form))
            creation_id = str(container.get("id") or "")
            if not creation_id:
                raise SocialError("Instagram answered without a container id")
            data = self.answer(self.call(
                http.post, f"/{GRAPH_VERSION}/{conn.account_id}/media_publish",
                data={"creation_id": creation_id, "access_token": conn.token}))
            media_id = str(data.get("id") or "")
            if not media_id:
                raise SocialError("Instagram answered without a media id")
            link = self.answer(self.call(http.get, f"/{GRAPH_VERSION}/{media_id}", params={
                "fields": "permalink", "access_token": conn.token}))
        return Published(media_id, str(link.get("permalink") or ""))

    def metrics(self, conn: Conn, post_id: str) -> Metrics:
        with self.client(conn) as http:
            data = self.answer(self.call(http.get, f"/{GRAPH_VERSION}/{post_id}", params={
                "fields": "like_count,comments_count", "access_token": conn.token}))
        return Metrics(likes=_count(data.get("like_count")),
                       comments=_count(data.get("comments_count")))


class TwitterProvider(SocialProvider):
    platform = "TWITTER"
    default_api_base = "https://api.x.com"
    max_text = 280

    def _headers(self, conn: Conn) -> dict[str, str]:
        return {"Authorization": f"Bearer {conn.token}"}

    def check(self, conn: Conn) -> Account:
        with self.client(conn) as http:
            data = self.answer(self.call(http.get, "/2/users/me", headers=self._headers(conn)))
        user = data.get("data") or {}
        return Account(str(user.get("id") or ""), str(user.get("username") or ""),
                       handle=str(user.get("username") or ""))

    def publish(self, conn: Conn, content: PostContent) -> Published:
        text = "\n\n".join(p for p in (content.text, content.link) if p)
        with self.client(conn) as http:
            data = self.answer(self.call(http.post, "/2/tweets", json={"text": text},
                                         headers=self._headers(conn)))
        tweet_id = str((data.get("data") or {}).get("id") or "")
        if not tweet_id:
            raise SocialError("X answered without a post id")
        handle = str(conn.settings.get("username") or "i")
        return Published(tweet_id, f"https://x.com/{handle}/status/{tweet_id}")

    def metrics(self, conn: Conn, post_id: str) -> Metrics:
        with self.client(conn) as http:
            data = self.answer(self.call(http.get, f"/2/tweets/{post_id}",
                                         params={"tweet.fields": "public_metrics"},
                                         headers=self._headers(conn)))
        m = (data.get("data") or {}).get("public_metrics") or {}
        return Metrics(likes=_count(m.get("like_count")), comments=_count(m.get("reply_count")),
                       shares=_count(m.get("retweet_count")) + _count(m.get("quote_count")),
                       impressions=_count(m.get("impression_count")))


class LinkedInProvider(SocialProvider):
    platform = "LINKEDIN"
    default_api_base = "https://api.linkedin.com"
    max_text = 3000

    def _headers(self, conn: Conn) -> dict[str, str]:
        return {"Authorization": f"Bearer {conn.token}", "LinkedIn-Version": LINKEDIN_VERSION,
                "X-Restli-Protocol-Version": "2.0.0"}

    def check(self, conn: Conn) -> Account:
        with self.client(conn) as http:
            data = self.answer(self.call(http.get, "/v2/userinfo", headers=self._headers(conn)))
        sub = str(data.get("sub") or "")
        return Account(f"urn:li:person:{sub}" if sub else "", str(data.get("name") or ""))

    def publish(self, conn: Conn, content: PostContent) -> Published:
        body: dict[str, Any] = {
            "author": str(conn.settings.get("author") or conn.account_id),
            "commentary": content.text, "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False}
        if content.link:
            body["content"] = {"article": {"source": content.link,
                                           "title": content.link[:200]}}
        with self.client(conn) as http:
            response = self.call(http.post, "/rest/posts", json=body,
                                 headers=self._headers(conn))
            self.answer(response)
        urn = response.headers.get("x-restli-id", "")
        if not urn:
            raise SocialError("LinkedIn answered without a post URN")
        return Published(urn, f"https://www.linkedin.com/feed/update/{urn}/")

    def metrics(self, conn: Conn, post_id: str) -> Metrics:
        with self.client(conn) as http:
            data = self.answer(self.call(http.get, f"/rest/socialActions/{quote(post_id, '')}",
                                         headers=self._headers(conn)))
        return Metrics(
            likes=_count((data.get("likesSummary") or {}).get("totalLikes")),
            comments=_count((data.get("commentsSummary") or {}
                             ).get("aggregatedTotalComments")))


class TikTokProvider(SocialProvider):
    platform = "TIKTOK"
    default_api_base = "https://open.tiktokapis.com"
    needs_media = True
    max_text = 2200

    def _headers(self, conn: Conn) -> dict[str, str]:
        return {"Authorization": f"Bearer {conn.token}",
                "Content-Type": "application/json; charset=UTF-8"}

    def _data(self, response: Any) -> dict[str, Any]:
        data = self.answer(response)
        error = data.get("error") or {}
        if error.get("code") not in (None, "", "ok"):
            auth = error.get("code") in ("access_token_invalid", "scope_not_authorized")
            raise SocialError(str(error.get("message") or error.get("code")), auth=auth,
                              permanent=True)
        return dict(data.get("data") or {})

    def check(self, conn: Conn) -> Account:
        with self.client(conn) as http:
            data = self._data(self.call(http.get, "/v2/user/info/",
                                        params={"fields": "open_id,display_name,username"},
                                        headers=self._headers(conn)))
        user = data.get("user") or {}
        return Account(str(user.get("open_id") or ""), str(user.get("display_name") or ""),
                       handle=str(user.get("username") or ""))

    def publish(self, conn: Conn, content: PostContent) -> Published:
        video = _first_media(content, "video")
        if not video:
            raise SocialError("TikTok needs a video", permanent=True)
        body = {"post_info": {"title": content.text[:2200],
                              "privacy_level": str(conn.settings.get("privacy_level")
                                                   or "PUBLIC_TO_EVERYONE")},
                "source_info": {"source": "PULL_FROM_URL", "video_url": video}}
        with self.client(conn) as http:
            data = self._data(self.call(http.post, "/v2/post/publish/video/init/", json=body,
                                        headers=self._headers(conn)))
            publish_id = str(data.get("publish_id") or "")
            if not publish_id:
                raise SocialError("TikTok answered without a publish id")
            # TikTok pulls and processes the video on its side; the public id appears in the
            # status once it is done. Until then the publish id stands for the post.
            status = self._data(self.call(http.post, "/v2/post/publish/status/fetch/",
                                          json={"publish_id": publish_id},
                                          headers=self._headers(conn)))
        if status.get("status") == "FAILED":
            raise SocialError(str(status.get("fail_reason") or "TikTok refused the video"),
                              permanent=True)
        public = status.get("publicaly_available_post_id") or []
        if public:
            video_id = str(public[0])
            handle = str(conn.settings.get("username") or "")
            return Published(video_id, f"https://www.tiktok.com/@{handle}/video/{video_id}"
                             if handle else "")
        return Published(publish_id, "")

    def metrics(self, conn: Conn, post_id: str) -> Metrics:
        with self.client(conn) as http:
            data = self._data(self.call(
                http.post, "/v2/video/query/",
                params={"fields": "id,like_count,comment_count,share_count,view_count"},
                json={"filters": {"video_ids": [post_id]}}, headers=self._headers(conn)))
        videos = data.get("videos") or [{}]
        v = videos[0] if videos else {}
        return Metrics(likes=_count(v.get("like_count")), comments=_count(v.get("comment_count")),
                       shares=_count(v.get("share_count")),
                       impressions=_count(v.get("view_count")))


def register() -> None:
    for provider in (FacebookProvider(), InstagramProvider(), TwitterProvider(),
                     LinkedInProvider(), TikTokProvider()):
        register_social_provider(provider)
