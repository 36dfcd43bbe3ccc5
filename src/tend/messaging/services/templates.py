"""Message templates: drafts, publishing, archiving, resolving and sending.

A template is identified by (key, channel, language) and has versions. A DRAFT changes in
place; publishing freezes it (PUBLISHED versions never change) and archives the version
published before it; changing a published template creates the next version as a DRAFT (or
changes the draft that already follows it). Sending picks the published version in the
contact's language, else the organization's default language, else any published language
(`template_resolve`), renders it with the sandboxed renderer (`tend.messaging.rendering`)
and queues it in the outbox (`message_send_template`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.messaging import rendering
from tend.messaging.choices import (
    ChannelKind,
    MessagePurpose,
    TemplateCategory,
    TemplateStatus,
)
from tend.messaging.models import ChannelAccount, Conversation, Message, Template
from tend.people.models import Contact

MAX_BODY = 10_000
MAX_SUBJECT = 300
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-zA-Z0-9]{2,8})?$")
EDITABLE = ("name", "subject", "body", "category", "provider_template_name")


def _clean(values: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """Check the editable fields; record unknown variables by field."""
    out: dict[str, Any] = {}
    name = str(values.get("name") or "").strip()
    if len(name) > 200:
        errors["name"] = [_("At most 200 characters.")]
    out["name"] = name
    subject = str(values.get("subject") or "").strip()
    body = str(values.get("body") or "")
    if not body.strip():
        errors["body"] = [_("Write the message.")]
    elif len(body) > MAX_BODY:
        errors["body"] = [_("At most %(n)d characters.") % {"n": MAX_BODY}]
    if len(subject) > MAX_SUBJECT:
        errors["subject"] = [_("At most %(n)d characters.") % {"n": MAX_SUBJECT}]
    variables: list[str] = []
    for field, text in (("subject", subject), ("body", body)):
        if field in errors:
            continue
        try:
            found = rendering.parse(text)
        except rendering.TemplateSyntaxError as exc:
            errors[field] = exc.messages
            continue
        unknown = rendering.unknown_variables(found)
        if unknown:
            errors[field] = [_("Unknown variables: %(names)s. Use one of: %(allowed)s.") % {
                "names": ", ".join(unknown),
                "allowed": ", ".join(f"{ns}.{n}" for ns, names in
                                     rendering.allowed_variables().items() for n in names)}]
            continue
        variables += [v.path for v in found if v.path not in variables]
    category = values.get("category") or TemplateCategory.UTILITY
    if category not in TemplateCategory.values:
        errors["category"] = [_("Choose a category.")]
    provider_name = str(values.get("provider_template_name") or "").strip()
    if len(provider_name) > 200:
        errors["provider_template_name"] = [_("At most 200 characters.")]
    out.update(subject=subject, body=body, category=category,
               provider_template_name=provider_name, variables=variables)
    return out


def template_create(*, tenant: Tenant, actor: Actor, key: str, channel: str, language: str,
                    body: str, subject: str = "", name: str = "",
                    category: str = TemplateCategory.UTILITY,
                    provider_template_name: str = "") -> Template:
    """Create the first version of a template, as a DRAFT. Needs `templates.change`.

    `key` is a slug shared by the template's languages and channels; (key, channel,
    language) must be new — to change an existing template, use `template_update`. Variables
    outside the allowlist are a field error naming them.
    """
    check_perm(actor, "templates.change")
    errors: dict[str, list[str]] = {}
    key = str(key or "").strip().lower()
    language = str(language or "").strip()
    if not _KEY.match(key):
        errors["key"] = [_("Use lowercase letters, digits, - and _ (at most 100).")]
    if channel not in ChannelKind.values:
        errors["channel"] = [_("Choose a channel.")]
    if not _LANGUAGE.match(language):
        errors["language"] = [_("Give a language code such as en or ar.")]
    cleaned = _clean({"body": body, "subject": subject, "name": name, "category": category,
                      "provider_template_name": provider_template_name}, errors)
    if not errors and Template.objects.filter(tenant=tenant, key=key, channel=channel,
                                              language=language).exists():
        errors["key"] = [_("This template exists in this channel and language; edit it.")]
    if errors:
        raise ValidationFailed(fields=errors)
    user = actor.acting_user
    try:
        with transaction.atomic():
            template = Template.objects.create(
                tenant=tenant, key=key, channel=channel, language=language, version=1,
                status=TemplateStatus.DRAFT, created_by=user, updated_by=user, **cleaned)
            audit_record(tenant=tenant, actor=actor, action="template.created",
                         entity_type="messaging.template", entity_id=template.pk,
                         changes={"key": key, "channel": channel, "language": language})
    except IntegrityError:
        raise ValidationFailed(fields={"key": [
            _("This template exists in this channel and language; edit it.")]}) from None
    return template


def template_update(*, tenant: Tenant, actor: Actor, template: Template,
                    values: Mapping[str, Any]) -> Template:
    """Change a template's text or settings (the keys of `values` among `EDITABLE`; the
    others keep their value). Needs `templates.change`.

    A DRAFT changes in place. A PUBLISHED version never changes: the change goes to the draft
    that follows it, created as the next version if there is none. ARCHIVED versions cannot
    change. Returns the draft that holds the change.
    """
    check_perm(actor, "templates.change")
    if template.status == TemplateStatus.ARCHIVED:
        raise Conflict(_("An archived template cannot be changed."))
    user = actor.acting_user
    with transaction.atomic():
        target = template
        if template.status == TemplateStatus.PUBLISHED:
            draft = (Template.objects.select_for_update()
                     .filter(tenant=tenant, key=template.key, channel=template.channel,
                             language=template.language, status=TemplateStatus.DRAFT)
                     .order_by("-version").first())
            if draft is None:
                top = Template.objects.filter(
                    tenant=tenant, key=template.key, channel=template.channel,
                    language=template.language).aggregate(v=Max("version"))["v"] or 0
                draft = Template(tenant=tenant, key=template.key, channel=template.channel,
                                 language=template.language, version=top + 1,
                                 status=TemplateStatus.DRAFT, created_by=user,
                                 **{name: getattr(template, name) for name in EDITABLE})
            target = draft
        # Fields not given keep the value of the version the change lands on.
        merged = {name: values[name] if name in values else getattr(target, name)
                  for name in EDITABLE}
        errors: dict[str, list[str]] = {}
        cleaned = _clean(merged, errors)
        if errors:
            raise ValidationFailed(fields=errors)
        for name, value in cleaned.items():
            setattr(target, name, value)
        target.updated_by = user
        target.save()
        audit_record(tenant=tenant, actor=actor, action="template.updated",
                     entity_type="messaging.template", entity_id=target.pk,
                     changes={"version": target.version})
    return target


def template_publish(*, tenant: Tenant, actor: Actor, template: Template) -> Template:
    """Publish a DRAFT: from now on it is what sends use, and it never changes. The version
    published before it is archived. Needs `templates.manage`."""
    check_perm(actor, "templates.manage")
    if template.status != TemplateStatus.DRAFT:
        raise Conflict(_("Only a draft can be published."))
    with transaction.atomic():
        Template.objects.filter(
            tenant=tenant, key=template.key, channel=template.channel,
            language=template.language, status=TemplateStatus.PUBLISHED,
        ).update(status=TemplateStatus.ARCHIVED, updated_at=timezone.now())
        template.status = TemplateStatus.PUBLISHED
        template.published_at = timezone.now()
        template.updated_by = actor.acting_user
        template.save(update_fields=["status", "published_at", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="template.published",
                     entity_type="messaging.template", entity_id=template.pk,
                     changes={"version": template.version})
    return template


def template_archive(*, tenant: Tenant, actor: Actor, template: Template) -> Template:
    """Stop using a version (a draft or the published one). Needs `templates.manage`."""
    check_perm(actor, "templates.manage")
    if template.status == TemplateStatus.ARCHIVED:
        return template
    template.status = TemplateStatus.ARCHIVED
    template.updated_by = actor.acting_user
    template.save(update_fields=["status", "updated_by", "updated_at"])
    audit_record(tenant=tenant, actor=actor, action="template.archived",
                 entity_type="messaging.template", entity_id=template.pk,
                 changes={"version": template.version})
    return template


def _language_chain(tenant: Tenant, contact: Contact | None) -> list[str]:
    chain = []
    for code in ((contact.language if contact is not None else ""), tenant.default_language):
        code = (code or "").strip().lower()
        for candidate in (code, code.split("-")[0]):
            if candidate and candidate not in chain:
                chain.append(candidate)
    return chain


def template_resolve(*, tenant: Tenant, key: str, channel: str,
                     contact: Contact | None) -> Template | None:
    """The published template to send `key` on `channel` to `contact`: in the contact's
    language (`ar-AE` also finds `ar`), else the organization's default language, else any
    published language (the oldest language first, so the choice is stable). One query."""
    published = list(Template.objects.filter(tenant=tenant, key=key, channel=channel,
                                             status=TemplateStatus.PUBLISHED)
                     .order_by("created_at", "-version"))
    if not published:
        return None
    by_language: dict[str, Template] = {}
    for template in published:
        by_language.setdefault(template.language.lower(), template)
    for code in _language_chain(tenant, contact):
        if code in by_language:
            return by_language[code]
    return published[0]


def template_render(*, tenant: Tenant, template: Template, contact: Contact | None,
                    extra: Mapping[str, Mapping[str, Any]] | None = None
                    ) -> dict[str, Any]:
    """`{"subject", "body", "variables"}` of `template` for `contact`; `variables` holds the
    values used (recorded on the message)."""
    values = rendering.context_for(tenant=tenant, contact=contact, extra=extra)
    used: dict[str, Any] = {}
    for path in template.variables or []:
        namespace, name = path.split(".", 1)
        used[path] = (values.get(namespace) or {}).get(name, "")
    return {"subject": rendering.render(template.subject, values),
            "body": rendering.render(template.body, values), "variables": used}


def template_preview(*, tenant: Tenant, actor: Actor, template: Template,
                     contact: Contact | None,
                     extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """What `template` would say to `contact` (or with empty contact fields). Needs
    `templates.view`. Writes nothing."""
    check_perm(actor, "templates.view")
    return template_render(tenant=tenant, template=template, contact=contact, extra=extra)


def message_send_template(*, tenant: Tenant, actor: Actor, contact: Contact, key: str,
                          channel: str, extra: Mapping[str, Mapping[str, Any]] | None = None,
                          purpose: str = MessagePurpose.TRANSACTIONAL,
                          dedupe_key: str | None = None,
                          account: ChannelAccount | None = None,
                          conversation: Conversation | None = None,
                          source: str = "") -> tuple[Message, bool]:
    """Render the template `key` for `contact` (see `template_resolve`) and queue it on
    `channel`; returns `(message, created)` as `message_enqueue` does (a repeated
    `dedupe_key` returns the first message). A missing template is a field error on `key`.
    The message records the template version and the variable values it was rendered with.
    """
    from tend.messaging.services.outbox import message_enqueue

    if dedupe_key:
        existing = Message.objects.filter(tenant=tenant, dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing, False
    template = template_resolve(tenant=tenant, key=key, channel=channel, contact=contact)
    if template is None:
        raise ValidationFailed(fields={"key": [
            _("There is no published template “%(key)s” for this channel.") % {"key": key}]})
    rendered = template_render(tenant=tenant, template=template, contact=contact, extra=extra)
    return message_enqueue(
        tenant=tenant, actor=actor, contact=contact, channel=channel, body=rendered["body"],
        subject=rendered["subject"], purpose=purpose, account=account,
        conversation=conversation, template=template,
        template_variables=rendered["variables"], dedupe_key=dedupe_key,
        source=source or f"template:{key}")
