from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "tend.community"
    label = "community"
    verbose_name = _("Community")

    def ready(self) -> None:
        from tend.community import registration

        registration.register()
