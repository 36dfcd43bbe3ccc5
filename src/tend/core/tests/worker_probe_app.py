"""An app for worker processes the tests start: registers the probe's periodic job."""

from django.apps import AppConfig


class WorkerProbeConfig(AppConfig):
    name = "tend.core.tests"
    label = "worker_probe"

    def ready(self) -> None:
        from tend.core.periodic import register_periodic
        from tend.core.tests.worker_probe import probe_tick

        register_periodic("probe.tick", 0.2, probe_tick)
