"""Email through Django email backends: SMTP by default, django-anymail for providers.

An account is one sender address. `settings["backend"]` picks the transport: `smtp` (the
default: `host`, `port`, `username`, `security` = `starttls` | `ssl` | `none`; the
`password` credential) or an ESP name handled by django-anymail (`postmark`, `sendgrid`,
`mailgun`, `brevo`, `sparkpost`: the `api_key` credential, optional `api_url` and, for
Mailgun, `sender_domain`). The backend is built per account with
`django.core.mail.get_connection(...)`, so every organization sends with its own server or
key, never with the site's.

Marketing mail gets `List-Unsubscribe` (our signed one-click URL and a mailto) and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) unless the outbox already
passed them. The `Message-ID` we set (SMTP) or the ESP's message id (anymail) is the provider
message id. A recipient refused with a 5xx during the SMTP dialogue is a permanent
`bounced` error. With an anymail backend, the ESP's tracking webhooks (delivered, opened,
clicked, bounced, rejected, complained, unsubscribed) are posted to the account's
`/hooks/messaging/<key>/` URL with HTTP basic auth (`webhook_secret`, `user:password`, put
in the URL given to the ESP) plus whatever signature anymail checks for that ESP; they move
the message along and a complaint or unsubscribe revokes the EMAIL MARKETING consent.
"""

from __future__ import annotations

import contextlib
import io
import json
import smtplib
import threading
import time
from datetime import datetime
from email.utils import make_msgid, parseaddr
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tend.core.errors import ValidationFailed
from tend.messaging.choices import ChannelKind, MessagePurpose, MessageStatus
from tend.messaging.models import ChannelAccount, Message
from tend.messaging.providers.base import (
    ConnectError,
    CredentialField,
    InboundItem,
    OutgoingMessage,
    ParsedMessage,
    Provider,
    RateLimits,
    SendError,
    SendResult,
    StatusUpdate,
)
from tend.messaging.providers.whatsapp import in_account_scope
from tend.messaging.services.unsubscribe import (
    public_origin,
    unsubscribe_headers,
    unsubscribe_url,
)
from tend.people.choices import AliasType

SMTP_TIMEOUT = 20
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
SECURITY = ("starttls", "ssl", "none")


class Esp:
    """What Tend needs to know of one anymail ESP."""

    def __init__(self, module: str, key: str, extra: tuple[str, ...] = ()) -> None:
        self.backend = f"anymail.backends.{module}.EmailBackend"
        self.webhook = f"anymail.webhooks.{module}.{_VIEW_NAMES[module]}"
        self.key = key  # the anymail setting the api_key credential is passed as
        self.extra = extra  # more account settings passed through to the backend


_VIEW_NAMES = {"postmark": "PostmarkTrackingWebhookView",
               "sendgrid": "SendGridTrackingWebhookView",
               "mailgun": "MailgunTrackingWebhookView",
               "brevo": "BrevoTrackingWebhookView",
               "sparkpost": "SparkPostTrackingWebhookView"}

ESPS: dict[str, Esp] = {
    "postmark": Esp("postmark", "server_token"),
    "sendgrid": Esp("sendgrid", "api_key"),
    "mailgun": Esp("mailgun", "api_key", ("sender_domain",)),
    "brevo": Esp("brevo", "api_key"),
    "sparkpost": Esp("sparkpost", "api_key"),
}

# anymail's normalized tracking events → our delivery statuses.
TRACKING = {"delivered": MessageStatus.DELIVERED, "opened": MessageStatus.READ,
            "clicked": MessageStatus.READ, "bounced": MessageStatus.BOUNCED,
            "rejected": MessageStatus.BOUNCED, "failed": MessageStatus.FAILED}
CONSENT_EVENTS = ("complained", "unsubscribed")


def _backend_name(account: ChannelAccount) -> str:
    return str(account.settings.get("backend") or "smtp").strip().lower()


def _true(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def connection_for(account: ChannelAccount) -> BaseEmailBackend:
    """A Django email backend configured from the account (not opened yet)."""
    settings, secrets = account.settings, account.credentials
    name = _backend_name(account)
    if name == "smtp":
        security = str(settings.get("security") or "starttls").strip().lower()
        if security not in SECURITY:
            raise ConnectError({"security": [gettext("Use starttls, ssl or none.")]})
        try:
            port = int(settings.get("port") or (465 if security == "ssl" else 587))
        except (TypeError, ValueError):
            raise ConnectError({"port": [gettext("Enter a port number.")]}) from None
        host = str(settings.get("host") or "").strip()
        if not host:
            raise ConnectError({"host": [gettext("Enter the SMTP server's host name.")]})
        return get_connection(
            SMTP_BACKEND, fail_silently=False, host=host, port=port,
            username=str(settings.get("username") or ""),
            password=str(secrets.get("password") or ""),
            use_tls=security == "starttls", use_ssl=security == "ssl", timeout=SMTP_TIMEOUT)
    esp = ESPS.get(name)
    if esp is None:
        raise ConnectError({"backend": [gettext("Use smtp or one of: %(names)s.")
                                        % {"names": ", ".join(sorted(ESPS))}]})
    options: dict[str, Any] = {esp.key: str(secrets.get("api_key") or "")}
    if not options[esp.key]:
        raise ConnectError({"api_key": [gettext("Enter the provider's API key.")]})
    if settings.get("api_url"):
        options["api_url"] = str(settings["api_url"])
    for extra in esp.extra:
        if settings.get(extra):
            options[extra] = str(settings[extra])
    return get_connection(esp.backend, fail_silently=False, **options)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# Open SMTP sessions of this thread, one per account (and per version of its settings):
# the outbox sends from a pool of long-lived threads, so a session serves many messages
# instead of paying connect, EHLO, STARTTLS and AUTH for each one.
_sessions = threading.local()
SESSION_IDLE_SECONDS = 30.0
# Refusals smtplib answers with RSET: the session stays usable for the next message.
KEEPS_SESSION = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                 smtplib.SMTPDataError)


def _session_key(account: ChannelAccount) -> tuple[str, str]:
    fingerprint = json.dumps(account.settings, sort_keys=True, default=str)
    return (str(account.pk), fingerprint + account.credentials_encrypted)


def _session(account: ChannelAccount) -> BaseEmailBackend:
    """An open SMTP backend for `account` in this thread, reused while it answers.

    A session idle for a while is checked with NOOP first (servers drop idle clients), so a
    message is never handed to a dead connection; any failure drops the session."""
    cache: dict[tuple[str, str], tuple[BaseEmailBackend, float]] = getattr(
        _sessions, "cache", None) or {}
    _sessions.cache = cache
    key = _session_key(account)
    now = time.monotonic()
    found = cache.get(key)
    if found is not None:
        backend, last_used = found
        alive = getattr(backend, "connection", None) is not None
        if alive and now - last_used > SESSION_IDLE_SECONDS:
            try:
                alive = backend.connection.noop()[0] == 250  # type: ignore[attr-defined]
            except (smtplib.SMTPException, OSError):
                alive = False
        if alive:
            cache[key] = (backend, now)
            return backend
        _drop_session(account)
    for stale in [k for k in cache if k[0] == key[0]]:  # the account's settings changed
        _close(cache.pop(stale)[0])
    backend = connection_for(account)
    backend.open()
    cache[key] = (backend, now)
    return backend


def _close(backend: BaseEmailBackend) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        backend.close()


def _drop_session(account: ChannelAccount) -> None:
    cache = getattr(_sessions, "cache", None) or {}
    found = cache.pop(_session_key(account), None)
    if found is not None:
        _close(found[0])


def close_sessions() -> None:
    """Close this thread's SMTP sessions (a worker thread ending)."""
    cache = getattr(_sessions, "cache", None) or {}
    while cache:
        _close(cache.popitem()[1][0])


def _smtp_error(exc: smtplib.SMTPException) -> SendError:
    """Classify an SMTP failure: 5xx on a recipient is a bounce; 4xx is tried again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        text = "; ".join(f"{rcpt}: {code} {_text(msg)}"
                         for rcpt, (code, msg) in exc.recipients.items())
        if codes and all(code >= 500 for code in codes):
            return SendError(f"Bounced: {text}", code="bounced", permanent=True)
        return SendError(f"Deferred: {text}", code="deferred")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendError(f"SMTP sign-in refused: {exc.smtp_code}", code="auth_failed",
                         permanent=True, account_error=True)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        permanent = exc.smtp_code >= 500
        return SendError(f"Sender refused: {exc.smtp_code} {_text(exc.smtp_error)}",
                         code="sender_refused", permanent=permanent, account_error=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        if exc.smtp_code >= 500:
            return SendError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", code="rejected",
                             permanent=True)
        return SendError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", code="deferred")
    return SendError(f"SMTP: {exc}", code="network")


def _settings_error(exc: ConnectError) -> SendError:
    text = "; ".join(m for ms in exc.fields.values() for m in ms)
    return SendError(text, code="bad_settings", permanent=True, account_error=True)


def _anymail_error(exc: Exception) -> SendError:
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

    if isinstance(exc, AnymailRecipientsRefused):
        return SendError(f"Refused by the provider: {exc}", code="bounced", permanent=True)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, AnymailAPIError) and status is not None:
        if status == 429:
            return SendError(str(exc), code="rate_limited", retry_after=5.0)
        if status in (401, 403):
            return SendError(str(exc), code="auth_failed", permanent=True, account_error=True)
        if status >= 500:
            return SendError(str(exc), code="unavailable")
        return SendError(str(exc), code=f"http_{status}", permanent=True)
    return SendError(f"Email provider unreachable: {exc}", code="network")


def _request_from(raw: bytes) -> HttpRequest:
    """A Django request carrying a stored webhook body, for anymail's parsers."""
    content_type = "application/json"
    try:
        json.loads(raw)
    except ValueError:
        content_type = "application/x-www-form-urlencoded"
    return WSGIRequest({"REQUEST_METHOD": "POST", "PATH_INFO": "/", "SERVER_NAME": "localhost",
                        "SERVER_PORT": "80", "wsgi.url_scheme": "https",
                        "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(raw)),
                        "wsgi.input": io.BytesIO(raw)})


class EmailProvider(Provider):
    kind = ChannelKind.EMAIL
    label = _("Email")
    setting_fields = (
        CredentialField("from_email", _("From address"),
                        help_text=_("For example: Acme Club <hello@acme.example>")),
        CredentialField("backend", _("Sending service"), required=False,
                        help_text=_("smtp (default), or postmark, sendgrid, mailgun, brevo, "
                                    "sparkpost through their API.")),
        CredentialField("host", _("SMTP server"), required=False),
        CredentialField("port", _("SMTP port"), required=False,
                        help_text=_("Blank: 587, or 465 with ssl.")),
        CredentialField("username", _("SMTP user name"), required=False),
        CredentialField("security", _("SMTP security"), required=False,
                        help_text=_("starttls (default), ssl or none.")),
        CredentialField("api_url", _("Provider API address"), required=False,
                        help_text=_("Only for an API service in another region; blank for "
                                    "its default.")),
        CredentialField("sender_domain", _("Mailgun sending domain"), required=False),
        CredentialField("unsubscribe_email", _("Unsubscribe mailbox"), required=False,
                        help_text=_("Offered as a mailto unsubscribe besides the one-click "
                                    "link; blank: none.")),
    )
    credential_fields = (
        CredentialField("password", _("SMTP password"), secret=True, required=False),
        CredentialField("api_key", _("Provider API key"), secret=True, required=False),
        CredentialField("webhook_secret", _("Tracking webhook credentials"), secret=True,
                        required=False,
                        help_text=_("user:password the provider's tracking webhook sends as "
                                    "basic auth (https://user:password@…/hooks/…).")),
        CredentialField("webhook_signing_key", _("Mailgun webhook signing key"), secret=True,
                        required=False,
                        help_text=_("Blank: the API key (older Mailgun accounts).")),
    )
    # Configurable per account (`rate_per_second`); SMTP servers and plans differ.
    rate_limits = RateLimits()
    address_types = (AliasType.EMAIL,)

    def connect(self, account: ChannelAccount, *, webhook_url: str) -> dict[str, Any]:
        """Check the settings; for SMTP also open a session (sign-in included) and close it.
        API services are only configured here (their keys are checked by the first send)."""
        _name, address = parseaddr(str(account.settings.get("from_email") or ""))
        if "@" not in address:
            raise ConnectError({"from_email": [gettext("Enter a valid email address.")]})
        connection = connection_for(account)
        if _backend_name(account) == "smtp":
            try:
                connection.open()
            except smtplib.SMTPAuthenticationError as exc:
                raise ConnectError({"password": [gettext(
                    "The SMTP server refused the user name and password.")]}) from exc
            except (smtplib.SMTPException, OSError) as exc:
                raise ConnectError({"host": [gettext("Could not reach the SMTP server: "
                                                     "%(error)s") % {"error": exc}]}) from exc
            finally:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    connection.close()
        return {"from_domain": address.rsplit("@", 1)[1].lower()}

    # -- send ---------------------------------------------------------------------------

    def outbox_headers(self, account: ChannelAccount, *, contact_id: Any,
                       purpose: str) -> dict[str, str]:
        """The headers the outbox passes for a message to `contact_id` (the unsubscribe
        headers on marketing mail), computed where the message row is at hand."""
        if purpose != MessagePurpose.MARKETING:
            return {}
        return self._unsubscribe_for(account, contact_id)

    def _unsubscribe_for(self, account: ChannelAccount, contact_id: Any) -> dict[str, str]:
        origin = public_origin(str(account.settings.get("webhook_url") or ""))
        url = unsubscribe_url(tenant_id=account.tenant_id, contact_id=contact_id, origin=origin)
        if not url.startswith(("https://", "http://")):
            return {}  # RFC 8058 needs an absolute URL; without a public origin offer none
        return unsubscribe_headers(url=url,
                                   mailto=str(account.settings.get("unsubscribe_email") or ""))

    def _unsubscribe(self, account: ChannelAccount, message: OutgoingMessage) -> dict[str, str]:
        if message.purpose != MessagePurpose.MARKETING:
            return {}
        if "List-Unsubscribe" in message.headers:
            return {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        contact_id = in_account_scope(account, lambda: Message.objects.filter(
            tenant_id=account.tenant_id, pk=message.message_id).values_list(
                "contact_id", flat=True).first())
        if contact_id is None:
            return {}
        return self._unsubscribe_for(account, contact_id)

    def build(self, account: ChannelAccount, message: OutgoingMessage,
              connection: BaseEmailBackend | None = None) -> EmailMultiAlternatives:
        to = message.to.strip()
        if "@" not in to:
            raise SendError("No email address to send to.", code="no_address", permanent=True)
        sender = str(account.settings.get("from_email") or "")
        domain = parseaddr(sender)[1].rpartition("@")[2] or None
        headers = {**message.headers, **self._unsubscribe(account, message)}
        headers.setdefault("Message-ID", make_msgid(domain=domain))
        mail = EmailMultiAlternatives(subject=message.subject, body=message.body,
                                      from_email=sender, to=[to], headers=headers,
                                      connection=connection)
        if message.html:
            mail.attach_alternative(message.html, "text/html")
        return mail

    def send(self, account: ChannelAccount, message: OutgoingMessage) -> SendResult:
        if _backend_name(account) == "smtp":
            return self._send_smtp(account, message)
        try:
            connection = connection_for(account)
        except ConnectError as exc:
            raise _settings_error(exc) from exc
        mail = self.build(account, message, connection)
        from anymail.exceptions import AnymailError

        try:
            connection.send_messages([mail])
        except AnymailError as exc:
            raise _anymail_error(exc) from exc
        status = getattr(mail, "anymail_status", None)
        esp_id = getattr(status, "message_id", None) if status is not None else None
        return SendResult(provider_message_id=str(esp_id or mail.extra_headers["Message-ID"]))

    def _send_smtp(self, account: ChannelAccount, message: OutgoingMessage) -> SendResult:
        mail = self.build(account, message)
        try:
            connection = _session(account)
            connection.send_messages([mail])
        except ConnectError as exc:
            raise _settings_error(exc) from exc
        except smtplib.SMTPException as exc:
            if not isinstance(exc, KEEPS_SESSION):
                _drop_session(account)
            raise _smtp_error(exc) from exc
        except OSError as exc:  # refused, unreachable, timed out
            _drop_session(account)
            raise SendError(f"SMTP server unreachable: {exc}", code="network") from exc
        return SendResult(provider_message_id=str(mail.extra_headers["Message-ID"]))

    # -- tracking webhooks (anymail backends only) ---------------------------------------

    def _webhook_view(self, account: ChannelAccount) -> Any:
        esp = ESPS.get(_backend_name(account))
        secret = str(account.credentials.get("webhook_secret") or "")
        if esp is None or ":" not in secret:
            return None
        options: dict[str, Any] = {"webhook_secret": [secret]}
        if _backend_name(account) == "mailgun":
            # Mailgun signs its webhooks with the account's webhook signing key (older
            # accounts: the API key).
            options["webhook_signing_key"] = str(
                account.credentials.get("webhook_signing_key")
                or account.credentials.get("api_key") or "")
        return import_string(esp.webhook)(**options)

    def verify(self, account: ChannelAccount, request: HttpRequest, raw: bytes) -> bool:
        """Basic auth with the account's `webhook_secret` (constant-time) and any signature
        anymail validates for the ESP. SMTP accounts take no webhooks."""
        from anymail.exceptions import AnymailWebhookValidationFailure

        view = self._webhook_view(account)
        if view is None:
            return False
        try:
            view.run_validators(request)
        except (AnymailWebhookValidationFailure, ValueError, KeyError, TypeError):
            return False
        return True

    def split(self, account: ChannelAccount, raw: bytes) -> list[InboundItem]:
        view = self._webhook_view(account)
        if view is None:
            raise ValueError("this account takes no webhooks")
        try:
            events = view.parse_events(_request_from(raw))
        except Exception as exc:  # any shape anymail cannot read is a bad body, never a 500
            raise ValueError(f"not a {view.esp_name} tracking event: {exc}") from exc
        items = []
        for event in events:
            if not event.message_id or not event.event_type:
                continue
            at = event.timestamp.isoformat() if isinstance(event.timestamp, datetime) else ""
            event_id = event.event_id or f"{event.message_id}:{event.event_type}:{at}"
            items.append(InboundItem(
                event_id=str(event_id)[:200], kind=str(event.event_type)[:20],
                payload={"message_id": str(event.message_id), "event_type": event.event_type,
                         "recipient": event.recipient or "", "timestamp": at,
                         "reject_reason": event.reject_reason or "",
                         "description": (event.description or "")[:1000],
                         "mta_response": (event.mta_response or "")[:1000]}))
        return items

    def parse(self, account: ChannelAccount,
              item: InboundItem) -> list[ParsedMessage | StatusUpdate]:
        payload = item.payload
        at = parse_datetime(payload.get("timestamp") or "") if payload.get("timestamp") else None
        if item.kind in CONSENT_EVENTS:
            self._revoke(account, payload)
            # No delivery status changes; the update only records that the event was used.
            return [StatusUpdate(provider_message_id=payload["message_id"], status=item.kind,
                                 at=at)]
        status = TRACKING.get(item.kind)
        if status is None:
            return []
        error = " ".join(p for p in (payload.get("description"), payload.get("mta_response"))
                         if p)
        return [StatusUpdate(provider_message_id=payload["message_id"], status=status, at=at,
                             error_code=str(payload.get("reject_reason") or "")
                             if status in (MessageStatus.BOUNCED, MessageStatus.FAILED) else "",
                             error=error)]

    @staticmethod
    def _revoke(account: ChannelAccount, payload: dict[str, Any]) -> None:
        """A spam complaint or an unsubscribe at the ESP revokes EMAIL MARKETING consent of
        the message's contact (runs in the tenant scope of inbound processing)."""
        from tend.messaging.services.unsubscribe import unsubscribe_apply

        message = (Message.objects.select_related("contact")
                   .filter(tenant_id=account.tenant_id, account=account,
                           provider_message_id=payload["message_id"]).first())
        if message is None:
            return
        # A contact merged away or erased has no consent left to revoke.
        with contextlib.suppress(ValidationFailed):
            unsubscribe_apply(tenant=account.tenant, contact=message.contact,
                              source=f"email {payload['event_type']}")
