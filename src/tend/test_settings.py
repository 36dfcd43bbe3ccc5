"""Settings for the test suite: a throwaway data directory, a fast hasher, and PostgreSQL when
TEND_TEST_DATABASE_URL is set (RLS on when TEND_DB_RLS is set too)."""

import os
import tempfile

os.environ["TEND_DATA_DIR"] = tempfile.mkdtemp(prefix="tend-test-")
if _url := os.environ.get("TEND_TEST_DATABASE_URL"):
    os.environ["TEND_DATABASE_URL"] = _url
else:
    os.environ.pop("TEND_DATABASE_URL", None)

from tend.settings import *  # noqa: F403
from tend.settings import LOGGING

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = "ERROR"  # type: ignore[index]
AXES_ENABLED = True
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# The suite's webhook receivers are fake servers on 127.0.0.1 (tests that prove the refusal
# of private addresses switch this off).
TEND_WEBHOOKS_ALLOW_PRIVATE = True
