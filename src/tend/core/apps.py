from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tend.core"
    label = "core"
    verbose_name = "Tend core"

    def ready(self) -> None:
        from tend.core import checks, db_walls, signals  # noqa: F401  (register handlers)
        from tend.core.jobkinds import register_core_job_kinds
        from tend.core.nav import register_core_modules
        from tend.core.periodic import register_core_periodic
        from tend.core.permissions import register_core_permissions

        register_core_permissions()
        register_core_modules()
        register_core_job_kinds()
        register_core_periodic()
