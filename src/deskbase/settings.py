"""The one settings module. Every deployment knob is an environment variable (see README)."""

from __future__ import annotations

import os

from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from deskbase import config

VAR_DIR = config.var_dir()
LOG_DIR = VAR_DIR / "log"

SECRET_KEY = config.secret_key()
DEBUG = config.env_bool("DESKBASE_DEBUG", False)
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DESKBASE_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("DESKBASE_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
    "deskbase.core",
    "deskbase.organizations",
    "deskbase.accounts",
    "deskbase.tickets",
    "deskbase.sla",
    "deskbase.datagen",
    "deskbase.benchmarks",
    "deskbase.api",
    "deskbase.search",
    "deskbase.analytics",
    "deskbase.dbtools",
    "deskbase.web",
]

MIDDLEWARE = [
    "deskbase.core.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "deskbase.core.tenant_middleware.TenantMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "deskbase.urls"
WSGI_APPLICATION = "deskbase.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# ------------------------------------------------------------------ database
# The server and workers connect as the application role, which owns no table
# and cannot bypass row-level security; migrations and operator commands run as
# the owner role (the `deskbase` command sets DESKBASE_DB_ROLE=owner for them).
DB_ROLE = os.environ.get("DESKBASE_DB_ROLE", "app")
if DB_ROLE not in {"app", "owner"}:
    raise SystemExit(f"DESKBASE_DB_ROLE must be 'app' or 'owner', not {DB_ROLE!r}")


def _database(url: str) -> dict:
    params = conninfo_to_dict(url)
    settings: dict = {
        "ENGINE": "deskbase.core.db",  # Django's, remembering the tenant it set
        "NAME": params.pop("dbname", "deskbase"),
        "USER": params.pop("user", ""),
        "PASSWORD": params.pop("password", ""),
        "HOST": params.pop("host", ""),
        "PORT": str(params.pop("port", "")),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"connect_timeout": config.env_int("DESKBASE_DB_CONNECT_TIMEOUT", 5), **params},
    }
    if config.env_bool("DESKBASE_DB_POOL", True):
        settings["OPTIONS"]["pool"] = {
            "min_size": config.env_int("DESKBASE_DB_POOL_MIN", 1),
            "max_size": config.env_int("DESKBASE_DB_POOL_MAX", 8),
            # Fail a request after this many seconds without a connection,
            # rather than hang when the database is down.
            "timeout": config.env_int("DESKBASE_DB_POOL_TIMEOUT", 5),
            # A connection broken by a database restart is replaced, not handed out.
            "check": ConnectionPool.check_connection,
        }
    return settings


DATABASES = {"default": _database(config.database_url(DB_ROLE))}
DESKBASE_APP_DATABASE_URL = config.database_url("app")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# ---------------------------------------------------------------------- auth
AUTH_USER_MODEL = "accounts.User"
# Emails are unique per organization; the backend resolves the tenant first.
AUTHENTICATION_BACKENDS = ["deskbase.accounts.backends.TenantEmailBackend"]
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = config.env_bool("DESKBASE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True


# -------------------------------------------------------------- static, media
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"
# Largest attachment accepted, in bytes (25 MiB by default).
MAX_ATTACHMENT_BYTES = config.env_int("DESKBASE_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)
# Soft-deleted rows are purged after this many days in the trash.
TRASH_RETENTION_DAYS = config.env_int("DESKBASE_TRASH_RETENTION_DAYS", 30)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names and compressed copies, served by whitenoise with DEBUG off;
    # `deskbase up` runs collectstatic before it serves.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


# ------------------------------------------------------------ observability
SERVER_TIMING = config.env_bool("DESKBASE_SERVER_TIMING", True)
SLOW_REQUEST_MS = config.env_int("DESKBASE_SLOW_REQUEST_MS", 200)

LOG_DIR.mkdir(parents=True, exist_ok=True)
LOG_LEVEL = os.environ.get("DESKBASE_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        "file": {
            # Several server processes append to one file; WatchedFileHandler
            # reopens it when logrotate moves it away.
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(LOG_DIR / "deskbase.log"),
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["stderr", "file"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "psycopg.pool": {"level": "WARNING"},
    },
}
