"""Settings for the outbox worker processes the fault test starts: Tend's settings, the probe
Telegram provider (`outbox_probe.OutboxProbeConfig`) and short leases so a killed worker's
messages come back quickly."""

import os

from tend.settings import *  # noqa: F403
from tend.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tend.messaging.tests.outbox_probe.OutboxProbeConfig"]
TEND_OUTBOX_LEASE_SECONDS = float(os.environ.get("TEND_OUTBOX_LEASE_SECONDS", "5"))
TEND_OUTBOX_MAX_IN_FLIGHT = int(os.environ.get("TEND_OUTBOX_MAX_IN_FLIGHT", "100"))
TEND_OUTBOX_BATCH = int(os.environ.get("TEND_OUTBOX_BATCH", "100"))
TEND_OUTBOX_POLL_SECONDS = 0.2
TEND_OUTBOX_BACKOFF_BASE = 0.2
TEND_OUTBOX_BACKOFF_CAP = 2.0
TEND_OUTBOX_RATE_TOLERANCE = float(os.environ.get("TEND_OUTBOX_RATE_TOLERANCE", "0.006"))
