from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "tend.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from tend.messaging import registration

        registration.register()
