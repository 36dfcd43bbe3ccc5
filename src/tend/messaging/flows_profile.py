"""The profile-update bot flow: asks for an email address and a city and saves them.

"profile" (or "/profile", or "ملفي") starts it. The email is normalized and checked as every
email in Tend is (people's `normalize_email`); a bad one, or one that belongs to another
contact, is asked again. "skip" keeps the current value; "stop" ends the flow. The email is
added to the contact as its primary email through people's alias services, the city through
`contact_update`. Texts follow the contact's language (English and Arabic).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.errors import ValidationFailed
from tend.messaging.flows import Flow, FlowContext
from tend.people.choices import AliasType
from tend.people.identities import normalize_email
from tend.people.models import IdentityAlias

SKIP_WORDS = frozenset({"skip", "/skip", "تخطي", "تخطى"})
MAX_CITY = 100


class ProfileFlow(Flow):
    key = "profile"
    label = gettext_lazy("Profile update")
    triggers = ("profile", "/profile", "ملفي", "/ملفي")

    def start(self, ctx: FlowContext) -> None:
        current = ctx.contact.primary_email
        if current:
            ctx.reply(_("Let's update your profile. Your email is %(email)s — send a new "
                        "address, or “skip” to keep it. (Send “stop” to end.)")
                      % {"email": current})
        else:
            ctx.reply(_("Let's update your profile. What is your email address? (Send “skip” "
                        "to leave it out, or “stop” to end.)"))
        ctx.goto("email")

    def on_email(self, ctx: FlowContext) -> None:
        if ctx.text.lower() not in SKIP_WORDS:
            try:
                email = normalize_email(ctx.text)
            except ValidationFailed:
                ctx.reply(_("That does not look like an email address. Please send it again, "
                            "like name@example.com."))
                return
            if not self._save_email(ctx, email):
                ctx.reply(_("This email address is already used by someone else with us. "
                            "Please send another one, or “skip”."))
                return
            ctx.data["email"] = email
        city = ctx.contact.city
        if city:
            ctx.reply(_("Which city do you live in? We have %(city)s — send “skip” to keep it.")
                      % {"city": city})
        else:
            ctx.reply(_("Which city do you live in?"))
        ctx.goto("city")

    def on_city(self, ctx: FlowContext) -> None:
        from tend.people.services.contacts import contact_update

        text = " ".join(ctx.text.split())
        if text.lower() not in SKIP_WORDS:
            if not text or len(text) > MAX_CITY:
                ctx.reply(_("Please send the name of your city (at most %(limit)d characters).")
                          % {"limit": MAX_CITY})
                return
            contact_update(tenant=ctx.tenant, actor=ctx.actor, contact=ctx.contact,
                           data={"city": text})
            ctx.data["city"] = text
        contact = ctx.contact
        ctx.reply(_("Thank you! Your profile is up to date — email: %(email)s, city: %(city)s.")
                  % {"email": contact.primary_email or "—", "city": contact.city or "—"})
        ctx.end("done")

    @staticmethod
    def _save_email(ctx: FlowContext, email: str) -> bool:
        """Make `email` the contact's primary email; False when another contact holds it."""
        from tend.people.services.aliases import alias_add, alias_set_primary

        contact = ctx.contact
        alias = IdentityAlias.objects.filter(tenant=ctx.tenant, type=AliasType.EMAIL, system="",
                                             value=email).first()
        if alias is not None and alias.contact_id != contact.pk:
            return False
        if alias is None:
            try:
                alias_add(tenant=ctx.tenant, actor=ctx.actor, contact=contact,
                          type=AliasType.EMAIL, value=email, is_primary=True,
                          source="telegram-flow" if ctx.conversation.account.kind == "TELEGRAM"
                          else "bot-flow")
            except ValidationFailed:
                return False
        else:
            alias_set_primary(tenant=ctx.tenant, actor=ctx.actor, contact=contact, alias=alias)
        contact.refresh_from_db(fields=["primary_email"])
        return True
