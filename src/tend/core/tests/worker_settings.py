"""Settings for worker processes the tests start: Tend's settings plus the probe app."""

from tend.settings import *  # noqa: F403
from tend.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tend.core.tests.worker_probe_app.WorkerProbeConfig"]
