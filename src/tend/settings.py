"""Django settings for Tend.

Every setting comes from the environment with a safe default, so `tend serve` needs no
configuration. See docs/configuration.md for the full list.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


DATA_DIR = Path(env("TEND_DATA_DIR", str(Path.cwd() / "var"))).resolve()


def _secret_key() -> str:
    """The key from TEND_SECRET_KEY, else one generated once and kept in the data directory."""
    if key := env("TEND_SECRET_KEY"):
        return key
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("TEND_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env("TEND_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env("TEND_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
BASE_URL = env("TEND_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Where messaging providers post webhooks (https://crm.example.org); empty: the origin of the
# request that connects the account.
TEND_PUBLIC_URL = env("TEND_PUBLIC_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "tend.core",
    "tend.web",
    "tend.people",
    "tend.rules",
    "tend.messaging",
    "tend.marketing",
    "tend.community",
    "tend.ratelimit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tend.core.middleware.SessionGuardMiddleware",
    "tend.core.middleware.UserLanguageMiddleware",
    "tend.web.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "tend.core.middleware.TenantMiddleware",
    "tend.core.middleware.ApiMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "tend.urls"
WSGI_APPLICATION = "tend.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tend.web.context_processors.shell",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------

DATABASE_URL = env("TEND_DATABASE_URL", f"sqlite:///{DATA_DIR / 'tend.sqlite3'}")
if DATABASE_URL.startswith("sqlite"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("TEND_DB_CONN_MAX_AGE", 0))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; FULL fsyncs every commit; IMMEDIATE takes
    # the write lock at BEGIN so two writers queue on the busy timeout instead of deadlocking.
    _db["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
            "PRAGMA busy_timeout=30000;"
        ),
    }
    _db["TEST"] = {"NAME": env("TEND_TEST_SQLITE_NAME", "") or None}
else:
    _db.setdefault("OPTIONS", {})
    _db["TEST"] = {"NAME": env("TEND_TEST_DATABASE_NAME", "") or None}
DATABASES = {"default": _db}
IS_POSTGRES = _db["ENGINE"].endswith("postgresql")
# Row-level security on every tenant table: the second wall behind the scoped managers.
TEND_DB_RLS = IS_POSTGRES and env_bool("TEND_DB_RLS", False)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts -------------------------------------------------------------------------------

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("TEND_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Absolute lifetime of a session; the idle timeout is enforced by SessionTimeoutMiddleware.
SESSION_COOKIE_AGE = env_int("TEND_SESSION_ABSOLUTE_SECONDS", 12 * 3600)
TEND_SESSION_IDLE_SECONDS = env_int("TEND_SESSION_IDLE_SECONDS", 2 * 3600)

AXES_FAILURE_LIMIT = env_int("TEND_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "web/lockout.html"
# The login form posts the email as `username` (Django's AuthenticationForm); without this,
# axes would look for `email` (the USERNAME_FIELD), count every failure under no username and
# never lock the account.
AXES_USERNAME_FORM_FIELD = "username"

# --- i18n -----------------------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ar", _("Arabic"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["tend.formats"]
TIME_ZONE = env("TEND_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- static ---------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# Kept even when empty: files are served from the app directories (finders), see below.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
# Serve straight from the app directories so a fresh clone needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- email ----------------------------------------------------------------------------------

EMAIL_BACKEND = env("TEND_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("TEND_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("TEND_EMAIL_PORT", 25)
EMAIL_HOST_USER = env("TEND_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("TEND_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("TEND_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("TEND_EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env("TEND_DEFAULT_FROM_EMAIL", "Tend <no-reply@localhost>")

# --- background work ------------------------------------------------------------------------

TASKS = {
    "default": {
        "BACKEND": env("TEND_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
TEND_TICK_SECONDS = float(env("TEND_TICK_SECONDS", "5"))
# Finished task results (the queue's history) are pruned by the tick after this many days.
TEND_TASK_RESULTS_KEEP_DAYS = env_int("TEND_TASK_RESULTS_KEEP_DAYS", 14)

# --- rate limits ----------------------------------------------------------------------------

# Requests per minute one ingestion source's webhook (and one API key posting activities)
# may make; 0 turns the limit off.
TEND_INGEST_RATE_PER_MINUTE = env_int("TEND_INGEST_RATE_PER_MINUTE", 600)

# --- outbound webhooks -----------------------------------------------------------------------
# Webhook subscriptions and journey WEBHOOK steps may only call public addresses (no loopback,
# private, link-local, multicast or reserved ones); set this where receivers live on the
# install's own network. See docs/webhooks.md.
TEND_WEBHOOKS_ALLOW_PRIVATE = env_bool("TEND_WEBHOOKS_ALLOW_PRIVATE", False)

# --- social sign-in ---------------------------------------------------------------------------
# The platform apps staff sign in through to connect a social account (OAuth 2.0 authorization
# code with PKCE); a platform without a client id offers only the pasted token.
TEND_SOCIAL_OAUTH = {
    platform: {"client_id": env(f"TEND_SOCIAL_{platform}_CLIENT_ID"),
               "client_secret": env(f"TEND_SOCIAL_{platform}_CLIENT_SECRET")}
    for platform in ("TWITTER", "LINKEDIN", "TIKTOK")
}

# --- logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("TEND_LOG_LEVEL", "WARNING")},
    "loggers": {
        "tend": {"level": env("TEND_LOG_LEVEL", "INFO"), "propagate": True},
        "django_tasks_db": {"level": "WARNING"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
