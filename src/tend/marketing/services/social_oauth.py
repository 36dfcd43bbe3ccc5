"""Connecting a social account by signing in at the platform (see `social/oauth.py` for the
wire side).

`social_oauth_start` makes the state and the PKCE pair and says where to send the browser;
`social_oauth_finish` checks the state the platform sent back, exchanges the code and
connects the account through `social_connection_create` (which asks the platform whose token
it is and stores it encrypted, health ACTIVE).

The state is signed (Django signing, salted, ten minutes) and names the organization, the
staff member and the platform; its nonce and PKCE verifier wait in `pending` (the caller's
session), and finishing takes them out, so a state works once, only in the browser that
started it, and only for the person and organization it was made for.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.guards import check_perm
from tend.marketing.models import SocialConnection, SocialPlatform
from tend.marketing.services.social import social_connection_create
from tend.marketing.social import oauth
from tend.marketing.social.base import SocialError

STATE_SALT = "tend.marketing.social.oauth"
STATE_MAX_AGE = 600
PENDING_KEY = "social_oauth_pending"
MAX_PENDING = 5


def _label(platform: str) -> str:
    return str(SocialPlatform(platform).label) if platform in SocialPlatform.values \
        else platform


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message=message, fields={"oauth": [message]})


def social_oauth_start(*, tenant: Tenant, actor: Actor, platform: str, redirect_uri: str,
                       pending: MutableMapping[str, Any]) -> str:
    """The platform's authorize URL to send the browser to. Keeps the nonce and PKCE
    verifier in `pending` (the session; the five newest flows are kept). Needs
    `social.manage`; the platform must have an app configured."""
    check_perm(actor, "social.manage")
    app = oauth.oauth_app(platform)
    if app is None:
        raise ValidationFailed(fields={"platform": [
            _("Signing in with %(platform)s is not set up on this server; paste a token "
              "instead.") % {"platform": _label(platform)}]})
    nonce = secrets.token_urlsafe(16)
    verifier, challenge = oauth.pkce_pair()
    user = actor.acting_user
    state = signing.dumps({"t": str(tenant.pk), "u": str(user.pk) if user else "",
                           "p": platform, "n": nonce}, salt=STATE_SALT, compress=True)
    flows = dict(pending.get(PENDING_KEY) or {})
    flows[nonce] = {"verifier": verifier, "platform": platform}
    pending[PENDING_KEY] = dict(list(flows.items())[-MAX_PENDING:])
    return oauth.authorize_url(app, redirect_uri=redirect_uri, state=state,
                               challenge=challenge)


def social_oauth_finish(*, tenant: Tenant, actor: Actor, platform: str,
                        params: MutableMapping[str, Any] | Any, redirect_uri: str,
                        pending: MutableMapping[str, Any]) -> SocialConnection:
    """Finish a sign-in from the callback's query `params` (`code` and `state`, or the
    platform's `error`): check the state, exchange the code, connect the account. Every
    refusal is a ValidationFailed with a message for the person (field `oauth`). Needs
    `social.manage`."""
    check_perm(actor, "social.manage")
    label = _label(platform)
    state = str(params.get("state") or "")
    try:
        data = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise _refuse(_("The sign-in with %(platform)s took too long; start again.")
                      % {"platform": label}) from None
    except signing.BadSignature:
        raise _refuse(_("This sign-in link is not valid; start again from Social "
                        "accounts.")) from None
    user = actor.acting_user
    if not isinstance(data, dict) or data.get("t") != str(tenant.pk) \
            or data.get("p") != platform or data.get("u") != (str(user.pk) if user else ""):
        raise _refuse(_("This sign-in was started for another organization, person or "
                        "platform; start again."))
    flows = dict(pending.get(PENDING_KEY) or {})
    flow = flows.pop(str(data.get("n") or ""), None)
    pending[PENDING_KEY] = flows
    if flow is None or flow.get("platform") != platform:
        raise _refuse(_("This sign-in was already used or was started in another browser; "
                        "start again."))
    if params.get("error"):
        reason = str(params.get("error_description") or params.get("error"))[:300]
        raise _refuse(_("%(platform)s did not grant access: %(reason)s")
                      % {"platform": label, "reason": reason})
    code = str(params.get("code") or "")
    app = oauth.oauth_app(platform)
    if not code or app is None:
        raise _refuse(_("%(platform)s sent no authorization code; start again.")
                      % {"platform": label})
    try:
        tokens = oauth.exchange_code(app, code=code, redirect_uri=redirect_uri,
                                     verifier=str(flow.get("verifier") or ""))
    except SocialError as exc:
        raise _refuse(_("%(platform)s refused the sign-in: %(error)s")
                      % {"platform": label, "error": exc.message}) from None
    expires = (timezone.now() + timedelta(seconds=tokens.expires_in)
               if tokens.expires_in else None)
    try:
        return social_connection_create(
            tenant=tenant, actor=actor, platform=platform, access_token=tokens.access_token,
            refresh_token=tokens.refresh_token, api_base=app.api_base,
            token_expires_at=expires)
    except ValidationFailed as exc:
        messages = [str(m) for msgs in exc.fields.values() for m in msgs] or [exc.message]
        raise _refuse(" ".join(messages)) from None
