"""The templates every new organization starts with, in English and Arabic.

Created published (version 1) when an organization is created, for the channels people chat
on. Organizations change them like any other template (the change becomes version 2).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tend.core.models import Tenant
from tend.messaging import rendering
from tend.messaging.choices import ChannelKind, TemplateCategory, TemplateStatus
from tend.messaging.models import Template

CHANNELS = (ChannelKind.TELEGRAM, ChannelKind.WHATSAPP, ChannelKind.EMAIL, ChannelKind.WEB)

# key → language → (name, subject, body)
SYSTEM_TEMPLATES: dict[str, dict[str, tuple[str, str, str]]] = {
    "welcome": {
        "en": ("Welcome", "Welcome to {{ organization.name }}",
               'Hello {{ contact.first_name|default:"there" }}, welcome to '
               "{{ organization.name }}! Reply to this message any time; we read every one."),
        "ar": ("ترحيب", "مرحبًا بك في {{ organization.name }}",
               'مرحبًا {{ contact.first_name|default:"بك" }}، أهلًا بك في '
               "{{ organization.name }}! يمكنك الرد على هذه الرسالة في أي وقت، فنحن نقرأ كل "
               "رسالة."),
    },
    "telegram_link": {
        "en": ("Telegram link", "Connect your Telegram",
               'Hello {{ contact.first_name|default:"there" }}, press this link and then '
               "Start to receive our messages on Telegram: {{ link.url }}"),
        "ar": ("رابط تيليجرام", "اربط حسابك على تيليجرام",
               'مرحبًا {{ contact.first_name|default:"بك" }}، اضغط هذا الرابط ثم «ابدأ» '
               "لتصلك رسائلنا على تيليجرام: {{ link.url }}"),
    },
    "appointment_reminder": {
        "en": ("Appointment reminder", "Reminder: {{ appointment.title }}",
               'Hello {{ contact.first_name|default:"there" }}, a reminder of '
               "{{ appointment.title }} on {{ appointment.starts_at }}"
               '{{ appointment.place|default:"" }}. Reply if you cannot come.'),
        "ar": ("تذكير بموعد", "تذكير: {{ appointment.title }}",
               'مرحبًا {{ contact.first_name|default:"بك" }}، نذكّرك بموعد '
               "{{ appointment.title }} في {{ appointment.starts_at }}"
               '{{ appointment.place|default:"" }}. أخبرنا بالرد إن لم تتمكن من الحضور.'),
    },
}


def register_variables() -> None:
    rendering.register_template_variables("link", ["url", "expires_at"])
    rendering.register_template_variables("appointment", ["title", "starts_at", "place"])
    rendering.register_template_variables("event", ["title", "starts_at", "place", "url"])


def system_templates_create(*, tenant: Tenant) -> int:
    """Add the system templates `tenant` does not have yet (one insert); returns how many."""
    existing = set(Template.objects.filter(tenant=tenant, key__in=SYSTEM_TEMPLATES)
                   .values_list("key", "channel", "language"))
    now = timezone.now()
    rows: list[Any] = []
    for key, languages in SYSTEM_TEMPLATES.items():
        for language, (name, subject, body) in languages.items():
            for channel in CHANNELS:
                if (key, channel, language) in existing:
                    continue
                text = subject + "\n" + body if channel == ChannelKind.EMAIL else body
                paths = [v.path for v in rendering.parse(text)]
                rows.append(Template(
                    tenant=tenant, key=key, channel=channel, language=language, version=1,
                    status=TemplateStatus.PUBLISHED, category=TemplateCategory.UTILITY,
                    name=name, subject=subject if channel == ChannelKind.EMAIL else "",
                    body=body, variables=list(dict.fromkeys(paths)), published_at=now))
    Template.objects.bulk_create(rows)
    return len(rows)
