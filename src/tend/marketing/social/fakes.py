"""A fake of the five social platforms' APIs on 127.0.0.1, for tests and the demo.

    with FakeSocial() as fake:
        connection.settings["api_base"] = fake.url     # every adapter, one server
        fake.tokens["TWITTER"]                          # the token each platform accepts
        fake.posts                                      # what was published, in order
        fake.set_metrics(post_id, likes=3)              # engagement the next sync reads
        fake.script(Response.json(503, {...}), op="tweets")

It answers like the real APIs where the adapters look (ids, URNs in headers, error shapes,
401 for a wrong token), and nothing more. Operations (for `script`/`count`): `fb.me`,
`fb.feed`, `fb.photos`, `graph.object`, `ig.user`, `ig.media`, `ig.publish`, `x.me`,
`tweets`, `x.tweet`, `li.userinfo`, `li.posts`, `li.social`, `tt.user`, `tt.init`,
`tt.status`, `tt.query`, `oauth.authorize`, `oauth.token`.

OAuth (the authorization-code flow, with PKCE): `fake.oauth_clients[platform]` is the
(client id, secret) pair the platform knows; `GET /oauth/authorize?...` (or
`fake.approve(url)`) plays the person approving and redirects to `redirect_uri` with a
one-time `code` and the `state`; `POST /oauth/token` exchanges the code (client id and
secret in the body or as HTTP basic auth, the same `redirect_uri`, the `code_verifier`
matching the challenge) for the platform's token.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tend.messaging.fakes.base import FakeHTTPServer, Request, Response, new_counter, reject

GRAPH = re.compile(r"^/v\d+\.\d+/(?P<rest>.+)$")


@dataclass(slots=True)
class FakePost:
    platform: str
    id: str
    text: str
    link: str = ""
    media: list[str] = field(default_factory=list)
    account: str = ""


class FakeSocial(FakeHTTPServer):
    page_id = "104857600000001"
    page_name = "Fairway Golf Club"
    ig_user_id = "17841400000000001"
    ig_username = "fairwaygolf"
    x_user_id = "1700000000000000001"
    x_username = "fairwaygolf"
    li_sub = "a1b2c3d4"
    li_name = "Fairway Golf Club"
    tt_open_id = "open-fairway-1"
    tt_name = "Fairway Golf"
    tt_username = "fairwaygolf"

    def __init__(self, **kwargs: Any) -> None:
        self.tokens = {p: f"{p.lower()}-{secrets.token_hex(8)}" for p in
                       ("FACEBOOK", "INSTAGRAM", "TWITTER", "LINKEDIN", "TIKTOK")}
        self.oauth_clients = {p: (f"{p.lower()}-app", secrets.token_hex(12))
                              for p in self.tokens}
        super().__init__(**kwargs)

    def _reset_state(self) -> None:
        self.posts: list[FakePost] = []
        self.metrics: dict[str, dict[str, int]] = {}
        self.containers: dict[str, dict[str, Any]] = {}
        # One-time codes: code → (platform, redirect_uri, code_challenge).
        self.codes: dict[str, tuple[str, str, str]] = {}
        self._next = new_counter(1000)

    def _init_records(self) -> None:
        super()._init_records()
        self._reset_state()

    def set_metrics(self, post_id: str, **counts: int) -> None:
        with self.lock:
            self.metrics.setdefault(post_id, {}).update(counts)

    def published(self, platform: str) -> list[FakePost]:
        with self.lock:
            return [p for p in self.posts if p.platform == platform]

    def approve(self, authorize_url: str) -> str:
        """The person approves the request at `authorize_url`: the URL the platform sends
        the browser back to (`redirect_uri` with `code` and `state`)."""
        query = dict(parse_qsl(urlsplit(authorize_url).query))
        client_id = query.get("client_id") or query.get("client_key") or ""
        platform = next((p for p, (cid, _s) in self.oauth_clients.items() if cid == client_id),
                        "")
        redirect = query.get("redirect_uri", "")
        if not platform or not redirect or query.get("response_type") != "code":
            raise ValueError("not an authorization request this fake knows")
        code = secrets.token_urlsafe(12)
        with self.lock:
            self.codes[code] = (platform, redirect, query.get("code_challenge", ""))
        sep = "&" if "?" in redirect else "?"
        return redirect + sep + urlencode({"code": code, "state": query.get("state", "")})

    # -- routing ---------------------------------------------------------------------------

    def _token(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        data = request.data if isinstance(request.data, dict) else {}
        return str(data.get("access_token") or request.query.get("access_token") or "")

    def _platform(self, request: Request) -> str:
        token = self._token(request)
        for platform, known in self.tokens.items():
            if token == known:
                return platform
        return ""

    def route(self, request: Request) -> None:
        path, method = request.path, request.method
        graph = GRAPH.match(path)
        op = ""
        if graph:
            rest = graph.group("rest")
            if rest == "me":
                op = "fb.me"
            elif rest.endswith("/feed"):
                op = "fb.feed"
            elif rest.endswith("/photos"):
                op = "fb.photos"
            elif rest.endswith("/media_publish"):
                op = "ig.publish"
            elif rest.endswith("/media"):
                op = "ig.media"
            elif rest == self.ig_user_id and method == "GET":
                op = "ig.user"
            else:
                op = "graph.object"
        elif path == "/2/users/me":
            op = "x.me"
        elif path == "/2/tweets" and method == "POST":
            op = "tweets"
        elif path.startswith("/2/tweets/"):
            op = "x.tweet"
        elif path == "/v2/userinfo":
            op = "li.userinfo"
        elif path == "/rest/posts":
            op = "li.posts"
        elif path.startswith("/rest/socialActions/"):
            op = "li.social"
        elif path == "/v2/user/info/":
            op = "tt.user"
        elif path == "/v2/post/publish/video/init/":
            op = "tt.init"
        elif path == "/v2/post/publish/status/fetch/":
            op = "tt.status"
        elif path == "/v2/video/query/":
            op = "tt.query"
        elif path == "/oauth/authorize" and method == "GET":
            op = "oauth.authorize"
        elif path == "/oauth/token" and method == "POST":
            op = "oauth.token"
        request.op = op
        request.keys = (f"op:{op}",)
        if not op:
            raise reject(Response.json(404, {"error": {"message": "Unknown path"}}))
        if op.startswith("oauth."):
            return
        wanted = {"fb": "FACEBOOK", "ig": "INSTAGRAM", "x": "TWITTER", "tweets": "TWITTER",
                  "li": "LINKEDIN", "tt": "TIKTOK"}.get(op.split(".")[0])
        platform = self._platform(request)
        if not platform or (wanted and platform != wanted):
            raise reject(self._unauthorized(op))

    def _unauthorized(self, op: str) -> Response:
        if op.startswith(("fb", "ig", "graph")):
            return Response.json(401, {"error": {"message": "Invalid OAuth access token.",
                                                 "type": "OAuthException", "code": 190}})
        if op.startswith("tt"):
            return Response.json(401, {"data": {}, "error": {
                "code": "access_token_invalid", "message": "The access token is invalid."}})
        return Response.json(401, {"title": "Unauthorized", "detail": "Unauthorized",
                                   "status": 401})

    def handle(self, request: Request) -> Response:
        handler = getattr(self, "_" + request.op.replace(".", "_"))
        return handler(request)

    def _form(self, request: Request) -> dict[str, Any]:
        data = request.data if isinstance(request.data, dict) else {}
        return {**request.query, **data}

    def _add(self, platform: str, post_id: str, text: str, link: str = "",
             media: list[str] | None = None, account: str = "") -> None:
        self.posts.append(FakePost(platform, post_id, text, link, media or [], account))
        self.metrics.setdefault(post_id, {})

    # Facebook ------------------------------------------------------------------------------

    def _fb_me(self, request: Request) -> Response:
        return Response.json(200, {"id": self.page_id, "name": self.page_name})

    def _page(self, request: Request) -> str:
        match = GRAPH.match(request.path)
        assert match is not None
        page = match.group("rest").split("/")[0]
        if page != self.page_id:
            raise reject(Response.json(400, {"error": {
                "message": "Unsupported post request.", "code": 100}}))
        return page

    def _fb_feed(self, request: Request) -> Response:
        page = self._page(request)
        form = self._form(request)
        if not form.get("message") and not form.get("link"):
            return Response.json(400, {"error": {"message": "(#100) Missing message or link",
                                                 "code": 100}})
        post_id = f"{page}_{self._next()}"
        self._add("FACEBOOK", post_id, str(form.get("message", "")), str(form.get("link", "")))
        return Response.json(200, {"id": post_id})

    def _fb_photos(self, request: Request) -> Response:
        page = self._page(request)
        form = self._form(request)
        photo_id = str(self._next())
        post_id = f"{page}_{photo_id}"
        self._add("FACEBOOK", post_id, str(form.get("caption", "")),
                  media=[str(form.get("url", ""))])
        return Response.json(200, {"id": photo_id, "post_id": post_id})

    def _graph_object(self, request: Request) -> Response:
        match = GRAPH.match(request.path)
        assert match is not None
        object_id = match.group("rest")
        post = next((p for p in self.posts if p.id == object_id), None)
        if post is None:
            return Response.json(404, {"error": {"message": "Unsupported get request.",
                                                 "code": 100}})
        m = self.metrics.get(object_id, {})
        if post.platform == "INSTAGRAM":
            return Response.json(200, {"id": object_id, "like_count": m.get("likes", 0),
                                       "comments_count": m.get("comments", 0),
                                       "permalink": f"https://www.instagram.com/p/{object_id}/"})
        return Response.json(200, {
            "id": object_id,
            "likes": {"data": [], "summary": {"total_count": m.get("likes", 0)}},
            "comments": {"data": [], "summary": {"total_count": m.get("comments", 0)}},
            "shares": {"count": m.get("shares", 0)}})

    # Instagram ---------------------------------------------------------------------------

    def _ig_user(self, request: Request) -> Response:
        return Response.json(200, {"id": self.ig_user_id, "username": self.ig_username})

    def _ig_media(self, request: Request) -> Response:
        form = self._form(request)
        if not form.get("image_url") and not form.get("video_url"):
            return Response.json(400, {"error": {"message": "The parameter image_url is "
                                                 "required.", "code": 100}})
        container = str(self._next())
        self.containers[container] = form
        return Response.json(200, {"id": container})

    def _ig_publish(self, request: Request) -> Response:
        form = self._form(request)
        container = self.containers.pop(str(form.get("creation_id", "")), None)
        if container is None:
            return Response.json(400, {"error": {"message": "Invalid creation_id",
                                                 "code": 100}})
        media_id = str(self._next())
        self._add("INSTAGRAM", media_id, str(container.get("caption", "")),
                  media=[str(container.get("image_url") or container.get("video_url"))])
        return Response.json(200, {"id": media_id})

    # X -----------------------------------------------------------------------------------

    def _x_me(self, request: Request) -> Response:
        return Response.json(200, {"data": {"id": self.x_user_id, "name": self.page_name,
                                            "username": self.x_username}})

    def _tweets(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        text = str(data.get("text") or "")
        if not text or len(text) > 280:
            return Response.json(400, {"title": "Invalid Request", "status": 400,
                                       "detail": "Tweet text must be 1 to 280 characters."})
        tweet_id = str(1_800_000_000_000_000_000 + self._next())
        self._add("TWITTER", tweet_id, text)
        return Response.json(201, {"data": {"id": tweet_id, "text": text,
                                            "edit_history_tweet_ids": [tweet_id]}})

    def _x_tweet(self, request: Request) -> Response:
        tweet_id = request.path.rsplit("/", 1)[-1]
        post = next((p for p in self.posts if p.id == tweet_id), None)
        if post is None:
            return Response.json(200, {"errors": [{"message": "Not Found"}]})
        m = self.metrics.get(tweet_id, {})
        return Response.json(200, {"data": {"id": tweet_id, "text": post.text,
                                            "public_metrics": {
                                                "like_count": m.get("likes", 0),
                                                "reply_count": m.get("comments", 0),
                                                "retweet_count": m.get("shares", 0),
                                                "quote_count": 0,
                                                "impression_count": m.get("impressions", 0)}}})

    # LinkedIn ----------------------------------------------------------------------------

    def _li_userinfo(self, request: Request) -> Response:
        return Response.json(200, {"sub": self.li_sub, "name": self.li_name})

    def _li_posts(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        if not request.headers.get("linkedin-version"):
            return Response.json(426, {"message": "A version header is required",
                                       "status": 426})
        if not data.get("author") or "commentary" not in data:
            return Response.json(422, {"message": "author and commentary are required",
                                       "status": 422})
        urn = f"urn:li:share:{7_000_000_000_000_000_000 + self._next()}"
        link = ((data.get("content") or {}).get("article") or {}).get("source", "")
        self._add("LINKEDIN", urn, str(data["commentary"]), str(link),
                  account=str(data["author"]))
        return Response(201, b"", (("x-restli-id", urn),))

    def _li_social(self, request: Request) -> Response:
        urn = unquote(request.path.removeprefix("/rest/socialActions/"))
        m = self.metrics.get(urn)
        if m is None:
            return Response.json(404, {"message": "Not found", "status": 404})
        return Response.json(200, {"target": urn,
                                   "likesSummary": {"totalLikes": m.get("likes", 0)},
                                   "commentsSummary": {"aggregatedTotalComments":
                                                       m.get("comments", 0)}})

    # OAuth -------------------------------------------------------------------------------

    def _oauth_authorize(self, request: Request) -> Response:
        try:
            location = self.approve(request.path + "?" + urlencode(request.query))
        except ValueError as exc:
            return Response.text(400, str(exc))
        return Response(302, b"", (("Location", location),), "text/plain")

    def _oauth_token(self, request: Request) -> Response:
        form = request.data if isinstance(request.data, dict) else {}
        client_id = str(form.get("client_id") or form.get("client_key") or "")
        secret = str(form.get("client_secret") or "")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            client_id, _sep, secret = base64.b64decode(auth[6:]).decode().partition(":")
        platform = next((p for p, pair in self.oauth_clients.items()
                         if pair == (client_id, secret)), "")
        if not platform:
            return Response.json(401, {"error": "invalid_client",
                                       "error_description": "Client authentication failed."})
        with self.lock:
            known = self.codes.pop(str(form.get("code") or ""), None)
        if form.get("grant_type") != "authorization_code" or known is None \
                or known[0] != platform:
            return Response.json(400, {"error": "invalid_grant",
                                       "error_description": "The code is invalid or expired."})
        _platform, redirect, challenge = known
        if str(form.get("redirect_uri") or "") != redirect:
            return Response.json(400, {"error": "invalid_grant",
                                       "error_description": "redirect_uri does not match."})
        verifier = str(form.get("code_verifier") or "")
        if challenge and base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                                  ).rstrip(b"=").decode() != challenge:
            return Response.json(400, {"error": "invalid_grant",
                                       "error_description": "code_verifier does not match."})
        return Response.json(200, {"access_token": self.tokens[platform],
                                   "refresh_token": f"refresh-{secrets.token_hex(8)}",
                                   "token_type": "bearer", "expires_in": 7200,
                                   "scope": "read write"})

    # TikTok ------------------------------------------------------------------------------

    @staticmethod
    def _tt(data: dict[str, Any], status: int = 200, code: str = "ok",
            message: str = "") -> Response:
        return Response.json(status, {"data": data, "error": {"code": code,
                                                              "message": message}})

    def _tt_user(self, request: Request) -> Response:
        return self._tt({"user": {"open_id": self.tt_open_id, "display_name": self.tt_name,
                                  "username": self.tt_username}})

    def _tt_init(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        source = data.get("source_info") or {}
        if source.get("source") != "PULL_FROM_URL" or not source.get("video_url"):
            return self._tt({}, 400, "invalid_params", "video_url is required")
        publish_id = f"v_pub_url~v2.{self._next()}"
        video_id = str(7_300_000_000_000_000_000 + self._next())
        self.containers[publish_id] = {"video_id": video_id}
        self._add("TIKTOK", video_id, str((data.get("post_info") or {}).get("title", "")),
                  media=[str(source["video_url"])])
        return self._tt({"publish_id": publish_id})

    def _tt_status(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        known = self.containers.get(str(data.get("publish_id", "")))
        if known is None:
            return self._tt({}, 400, "invalid_params", "unknown publish_id")
        return self._tt({"status": "PUBLISH_COMPLETE",
                         "publicaly_available_post_id": [known["video_id"]]})

    def _tt_query(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        ids = ((data.get("filters") or {}).get("video_ids")) or []
        videos = []
        for video_id in ids:
            m = self.metrics.get(str(video_id))
            if m is not None:
                videos.append({"id": video_id, "like_count": m.get("likes", 0),
                               "comment_count": m.get("comments", 0),
                               "share_count": m.get("shares", 0),
                               "view_count": m.get("impressions", 0)})
        return self._tt({"videos": videos, "cursor": 0, "has_more": False})
