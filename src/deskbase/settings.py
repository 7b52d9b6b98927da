"""The one settings module. Every deployment knob is an environment variable (see README)."""

from __future__ import annotations

import os
from pathlib import Path

from django.utils.csp import CSP
from psycopg.conninfo import conninfo_to_dict

from deskbase import config
from deskbase.core import i18n
from deskbase.core.db.pool import TrackedConnection, check_connection

VAR_DIR = config.var_dir()
BASE_PACKAGE_DIR = Path(__file__).resolve().parent
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
    # Installed for its log table only: the admin site is not served (deskbase/urls.py).
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
    "procrastinate.contrib.django",
    "deskbase.core",
    "deskbase.organizations",
    "deskbase.accounts",
    "deskbase.tickets",
    "deskbase.customers",
    "deskbase.sla",
    "deskbase.datagen",
    "deskbase.benchmarks",
    "deskbase.api",
    "deskbase.search",
    "deskbase.analytics",
    "deskbase.dbtools",
    "deskbase.outbox",
    "deskbase.mail",
    "deskbase.knowledge",
    "deskbase.webhooks",
    "deskbase.automation",
    "deskbase.privacy",
    "deskbase.bulk",
    "deskbase.savedviews",
    "deskbase.notifications",
    "deskbase.web",
]

MIDDLEWARE = [
    "deskbase.core.middleware.ServerTimingMiddleware",
    # The API's RateLimit-* fields (deskbase.api.ratelimit), on every authenticated answer.
    "deskbase.api.ratelimit.RateLimitHeadersMiddleware",
    # Outermost of what answers: turns Django's own error pages under /api/ into problems.
    "deskbase.api.middleware.ApiProblemMiddleware",
    # Outside everything that touches the database: 503 while it is unreachable.
    "deskbase.core.outage.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Outside the tenant's transaction: replica reads allowed, the last write's position.
    "deskbase.core.db.router.ReplicaMiddleware",
    "deskbase.core.tenant_middleware.TenantMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The person's language and time zone (else the organization's, else the browser's).
    "deskbase.web.middleware.PreferencesMiddleware",
    "deskbase.accounts.audit.SessionActivityMiddleware",
    "deskbase.web.middleware.TwoFactorEnrolmentMiddleware",
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
                "django.template.context_processors.csp",
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
    # Server-side parameters, and a statement run this many times on one connection is
    # prepared: the hot reads then skip PostgreSQL's planner (about 1 ms of its CPU for
    # the ticket list, with row-level security and the ticket table's indexes, against
    # 0.3 ms to execute it). 0 turns it off (a pooler that cannot keep prepared statements).
    prepare = config.env_int("DESKBASE_DB_PREPARE_THRESHOLD", 5)
    if prepare > 0:
        settings["OPTIONS"].update(server_side_binding=True, prepare_threshold=prepare)
    if config.env_bool("DESKBASE_DB_POOL", True):
        settings["OPTIONS"]["pool"] = {
            "min_size": config.env_int("DESKBASE_DB_POOL_MIN", 1),
            "max_size": config.env_int("DESKBASE_DB_POOL_MAX", 8),
            # Fail a request after this many seconds without a connection,
            # rather than hang when the database is down.
            "timeout": config.env_int("DESKBASE_DB_POOL_TIMEOUT", 5),
            # A connection broken by a database restart is replaced, not handed out.
            # (a round trip, skipped for a connection back from a request within 1 s)
            "check": check_connection,
            # Each connection attempt is reported, so that while the database is
            # unreachable requests fail at once with a 503 (deskbase.core.db.base).
            "connection_class": TrackedConnection,
            # A failed connection is retried in the background for this long, then
            # the pool waits for a request to try again: the default of 5 minutes of
            # back-off left a restarted database unused for up to a minute or two.
            "reconnect_timeout": config.env_int("DESKBASE_DB_RECONNECT_TIMEOUT", 2),
        }
    return settings


DATABASES = {"default": _database(config.database_url(DB_ROLE))}


def _replica_database(url: str) -> dict:
    """A read replica: a pool of its own, whose failed connections are not reported as
    the database being down (that is the primary's: deskbase.core.db.pool), which waits
    at most a second for a connection, and no test database of its own."""
    replica = _database(url)
    replica["OPTIONS"]["connect_timeout"] = config.env_int("DESKBASE_REPLICA_CONNECT_TIMEOUT", 2)
    pool = replica["OPTIONS"].get("pool")
    if pool:
        pool.pop("connection_class", None)
        # No connection opened ahead: a replica that is down costs nothing until used.
        pool.update(min_size=0, timeout=1)
    replica["TEST"] = {"MIRROR": "default"}
    return replica


# Read-only selectors go to a replica (deskbase.core.db.router; docs/scaling.md).
DESKBASE_REPLICAS: list[str] = []
for _number, _url in enumerate(config.replica_urls(DB_ROLE), start=1):
    DATABASES[f"replica{_number}"] = _replica_database(_url)
    DESKBASE_REPLICAS.append(f"replica{_number}")
DATABASE_ROUTERS = ["deskbase.core.db.router.ReplicaRouter"]
DESKBASE_REPLICA_MAX_LAG = float(os.environ.get("DESKBASE_REPLICA_MAX_LAG", "5"))
DESKBASE_REPLICA_CHECK_SECONDS = float(os.environ.get("DESKBASE_REPLICA_CHECK_SECONDS", "1"))
DESKBASE_APP_DATABASE_URL = config.database_url("app")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# ---------------------------------------------------------------- API rate limits
# Requests a minute per organization (an admin may set the organization's own) and
# per token or signed-in user (never above the organization's): docs/api.md. Zendesk
# allows 700 a minute per account on its Enterprise plan; deskbase's default is above.
# Off under pytest unless a test turns it on (the suite makes thousands of requests
# a minute with few tokens), like the N+1 detector below is on there.
API_RATE_LIMITS = config.env_bool("DESKBASE_API_RATE_LIMITS", "PYTEST_VERSION" not in os.environ)
API_RATE_LIMIT = config.env_int("DESKBASE_API_RATE_LIMIT", 1000)
API_RATE_LIMIT_CALLER = config.env_int("DESKBASE_API_RATE_LIMIT_CALLER", 700)
# The limiter's own connections per process (deskbase.api.ratelimit): one per application slot.
API_RATE_LIMIT_CONNECTIONS = config.env_int(
    "DESKBASE_API_RATE_LIMIT_CONNECTIONS", config.env_int("DESKBASE_WEB_THREADS", 2)
)

# ---------------------------------------------------------------------- auth
AUTH_USER_MODEL = "accounts.User"
# Emails are unique per organization; the backend resolves the tenant first.
AUTHENTICATION_BACKENDS = ["deskbase.accounts.backends.TenantEmailBackend"]
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
# argon2id at OWASP's recommended cost (deskbase.accounts.hashers says why).
PASSWORD_HASHERS = [
    "deskbase.accounts.hashers.OwaspArgon2PasswordHasher",
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

SESSION_ENGINE = "deskbase.accounts.sessions"  # Django's database sessions, read in plain SQL
SESSION_COOKIE_HTTPONLY = True
# A refused form token answers the styled 403 page (templates 400/403/404/500.html).
CSRF_FAILURE_VIEW = "deskbase.web.views.errors.csrf_failure"
SESSION_COOKIE_SECURE = config.env_bool("DESKBASE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every page (Django's own middleware). Scripts only from
# deskbase's static files or with the response's nonce, no inline event handlers, no
# eval, no plugins, no framing; a body that slipped past the sanitizer still cannot
# run. Views may set their own header (attachment downloads send a stricter one).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# English and German (docs/i18n.md). A signed-in person's language is theirs, else their
# organization's, else the browser's (deskbase.web.middleware.PreferencesMiddleware).
LANGUAGE_CODE = "en"
LANGUAGES = i18n.LANGUAGES
LOCALE_PATHS = [BASE_PACKAGE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True


# -------------------------------------------------------------- static, media
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"
# Files served at the site's root by whitenoise, before any middleware that needs the
# database: /favicon.ico, which browsers ask for on their own.
WHITENOISE_ROOT = BASE_PACKAGE_DIR / "web" / "root"
# Largest attachment accepted, in bytes (25 MiB by default).
MAX_ATTACHMENT_BYTES = config.env_int("DESKBASE_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)
# Soft-deleted rows are purged after this many days in the trash.
TRASH_RETENTION_DAYS = config.env_int("DESKBASE_TRASH_RETENTION_DAYS", 30)
# Notifications: read entries are deleted this many days after their last event, unread
# ones after the second figure (an agent who never looks does not keep them forever).
NOTIFICATION_RETENTION_DAYS = config.env_int("DESKBASE_NOTIFICATION_RETENTION_DAYS", 90)
NOTIFICATION_UNREAD_RETENTION_DAYS = config.env_int(
    "DESKBASE_NOTIFICATION_UNREAD_RETENTION_DAYS", 365
)
# A personal data export (docs/privacy.md) can be downloaded for this many days.
PRIVACY_EXPORT_DAYS = config.env_int("DESKBASE_PRIVACY_EXPORT_DAYS", 7)
# Incoming mail (docs/mail.md): the largest message processed (larger ones wait in
# review, their raw bytes kept), the caps per sender and per ticket per hour past
# which messages wait in review, and how long review keeps a message.
MAIL_MAX_MESSAGE_BYTES = config.env_int("DESKBASE_MAIL_MAX_MESSAGE_BYTES", 25 * 1024 * 1024)
MAIL_SENDER_HOURLY_LIMIT = config.env_int("DESKBASE_MAIL_SENDER_HOURLY_LIMIT", 30)
MAIL_TICKET_HOURLY_LIMIT = config.env_int("DESKBASE_MAIL_TICKET_HOURLY_LIMIT", 20)
MAIL_REVIEW_DAYS = config.env_int("DESKBASE_MAIL_REVIEW_DAYS", 14)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names and compressed copies, served by whitenoise with DEBUG off;
    # `deskbase up` runs collectstatic before it serves.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


# ---------------------------------------------------------------------- jobs
# The procrastinate worker (`deskbase worker`) loads its tasks from deskbase.jobs.
PROCRASTINATE_IMPORT_PATHS = ["deskbase.jobs"]
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = ""
# Monthly partitions are created this many months ahead (docs/partitions.md).
PARTITIONS_AHEAD_MONTHS = config.env_int("DESKBASE_PARTITIONS_AHEAD_MONTHS", 3)
# ... and, after every migrate, from this many months back (rows written right after
# it with recent timestamps, like the demo's, find their month).
PARTITIONS_BACK_MONTHS = config.env_int("DESKBASE_PARTITIONS_BACK_MONTHS", 3)
# Where `deskbase db_maintenance --drop-old-partitions` and the worker archive
# partitions past retention (tables whose registry entry says archive).
ARCHIVE_DIR = VAR_DIR / "archive"
# Modules holding outbox consumers besides each app's `consumers` module, comma-separated
# (docs/outbox.md). The other outbox knobs have defaults in deskbase.outbox.delivery.
OUTBOX_CONSUMER_MODULES = [
    name.strip() for name in os.environ.get("DESKBASE_OUTBOX_CONSUMERS", "").split(",")
    if name.strip()
]  # fmt: skip
# Outbound mail (docs/mail-outbound.md): the address people reach the portal at (links in
# mail), and the cap on automatic mail (received, resolved) to one address per hour.
PUBLIC_URL = os.environ.get("DESKBASE_PUBLIC_URL", "http://localhost:8000").rstrip("/")
MAIL_AUTOMATIC_PER_HOUR = config.env_int("DESKBASE_MAIL_AUTOMATIC_PER_HOUR", 5)
MAIL_ATTACHMENTS_MAX_BYTES = config.env_int("DESKBASE_MAIL_ATTACHMENTS_MAX_BYTES", 20 * 1024 * 1024)
# Fetching IMAP mailboxes (docs/mail-servers.md): the pause between passes on a server
# without IDLE, and the timeout of connecting and of each read or write.
MAIL_POLL_SECONDS = config.env_int("DESKBASE_MAIL_POLL_SECONDS", 60)
MAIL_IMAP_TIMEOUT_SECONDS = config.env_int("DESKBASE_MAIL_IMAP_TIMEOUT_SECONDS", 30)
# Mail servers on loopback, private, link-local or multicast addresses: refused unless
# allowed here (deskbase.mail.hosts: an admin must not probe the internal network).
MAIL_ALLOW_PRIVATE_HOSTS = config.env_bool("DESKBASE_MAIL_ALLOW_PRIVATE_HOSTS", False)
# -------------------------------------------------------------------- webhooks
# docs/webhooks.md. Endpoints on the internal network (and plain http://) are refused:
# for tests and development only (a receiver on 127.0.0.1).
WEBHOOKS_ALLOW_PRIVATE_HOSTS = config.env_bool("DESKBASE_WEBHOOKS_ALLOW_PRIVATE_HOSTS", False)
# -------------------------------------------------------------------- cache
# Local memory by default; Redis (shared by every server process) when REDIS_URL
# is set. docs/caching.md. Entries are invalidated by per-organization version keys
# bumped after each commit; with local memory a bump reaches only the process that
# wrote, so entries there live DESKBASE_CACHE_LOCAL_TIMEOUT seconds (10 by default).
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
CACHE_KEY_PREFIX = os.environ.get("DESKBASE_CACHE_PREFIX", "deskbase")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": config.env_int("DESKBASE_CACHE_TIMEOUT", 300),
            "OPTIONS": {
                # A Redis that went away costs a request at most this long once;
                # deskbase.core.cache then serves uncached for a while.
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "deskbase",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": config.env_int("DESKBASE_CACHE_LOCAL_TIMEOUT", 10),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }
# Seconds the cache is bypassed after a connection error before it is tried again.
CACHE_RETRY_SECONDS = config.env_int("DESKBASE_CACHE_RETRY_SECONDS", 5)


# ------------------------------------------------------------ observability
SERVER_TIMING = config.env_bool("DESKBASE_SERVER_TIMING", True)
SLOW_REQUEST_MS = config.env_int("DESKBASE_SLOW_REQUEST_MS", 200)
# Statements slower than this are logged with the request's method and path.
SLOW_QUERY_MS = config.env_int("DESKBASE_SLOW_QUERY_MS", 100)
# The N+1 detector fails a request that runs one statement shape more than
# NPLUSONE_MAX times; on by default in development (DEBUG) and under pytest.
NPLUSONE_DETECT = config.env_bool("DESKBASE_NPLUSONE", DEBUG or "PYTEST_VERSION" in os.environ)
NPLUSONE_MAX = config.env_int("DESKBASE_NPLUSONE_MAX", 10)

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
        # Task registration is logged by every process that loads deskbase.jobs.
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
    },
}

# The desk's notification bell polls its unread count this often (docs/notifications.md).
NOTIFICATIONS_POLL_SECONDS = max(1, config.env_int("DESKBASE_NOTIFICATIONS_POLL_SECONDS", 15))

# New SLA crossings ("at risk", "breached") the per-minute pass announces at most, the
# earliest due first; a backlog drains over the next passes (docs/sla.md).
SLA_ALERTS_PER_PASS = max(1, config.env_int("DESKBASE_SLA_ALERTS_PER_PASS", 1000))
