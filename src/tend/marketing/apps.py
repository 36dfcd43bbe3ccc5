from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "tend.marketing"
    label = "marketing"
    verbose_name = _("Marketing")

    def ready(self) -> None:
        from tend.marketing import registration

        registration.register()
