from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "tend.people"
    label = "people"
    verbose_name = _("People")

    def ready(self) -> None:
        from tend.people import registration, search  # noqa: F401  (search: receivers)

        registration.register()
