"""Settings, all from the environment (CONTRACT §6). A ``.env`` file is read if present.

Two modes share this one file:

* embedded (no ``DATABASE_URL`` / ``REDIS_URL``): SQLite under ``var/``, an in-process
  cache, Celery tasks run in-process. Nothing to install.
* production: PostgreSQL and Redis; Celery workers and beat run as their own processes.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("GATEWAY_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG is on.")
    SECRET_KEY = "development-only-secret-key-never-use-in-production"  # noqa: S105
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "gateway.api",
    "gateway.tenancy",
    "gateway.assessments",
    "gateway.delivery",
]

MIDDLEWARE = [
    "gateway.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gateway.api.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "gateway.api.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "gateway.urls"
WSGI_APPLICATION = "gateway.wsgi.application"
APPEND_SLASH = False

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

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "gateway.sqlite3",
            # WAL and IMMEDIATE transactions let the in-process workers write while the
            # web thread reads, without "database is locked" under light concurrency.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and shared cache ---------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
GATEWAY_EMBEDDED = not REDIS_URL

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "gateway.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "gw",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------
# See gateway/runner.py: Celery workers with Redis, in-process threads without.
GATEWAY_TASK_RUNNER = env.str("GATEWAY_TASK_RUNNER", default="thread" if GATEWAY_EMBEDDED else "celery")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
# Tasks are idempotent (they re-read the outbox row), so a worker killed mid-task may
# safely see its task again: acknowledge late, take one task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Far below the visibility timeout, so Redis never re-delivers a task that is running.
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fix-up closes the database connection before and after every task
# unless this is set, so every delivery opened a new PostgreSQL connection (bench/,
# scenario 3). gateway/celery.py then drops broken or over-age connections after each
# task, as Django does after each request.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

# --- Gateway --------------------------------------------------------------------------
GATEWAY_PUBLIC_URL = env.str("GATEWAY_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
GATEWAY_OUTBOUND_ALLOWED_HOSTS = env.list("GATEWAY_OUTBOUND_ALLOWED_HOSTS", default=[])
GATEWAY_OUTBOUND_TIMEOUT = env.float("GATEWAY_OUTBOUND_TIMEOUT", default=10.0)
GATEWAY_DELIVERY_BACKOFF = [int(s) for s in env.list("GATEWAY_DELIVERY_BACKOFF", default=[])]
# How long a worker may hold a delivery before another may take it over (seconds), and
# how often the sweeper looks for due deliveries. Short values are for tests.
GATEWAY_DELIVERY_LEASE_SECONDS = env.int("GATEWAY_DELIVERY_LEASE_SECONDS", default=60)
GATEWAY_SWEEP_SECONDS = env.float("GATEWAY_SWEEP_SECONDS", default=5.0)
GATEWAY_RATE_LIMIT = env.str("GATEWAY_RATE_LIMIT", default="1000/min")

# Run by `celery -A gateway beat` in production and in-process in embedded mode.
CELERY_BEAT_SCHEDULE = {
    # The sweeper sends what no task is sending: lost messages, dead workers, retries.
    "deliveries-sweep": {"task": "delivery.sweep", "schedule": GATEWAY_SWEEP_SECONDS},
    "idempotency-purge": {"task": "api.idempotency_purge", "schedule": 3600.0},
    # Connectors' own schedules (e.g. reconciliation) are added from their declarations
    # by gateway/celery.py.
}
GATEWAY_MAX_BODY_BYTES = 1024 * 1024


def _encryption_keys() -> list[str]:
    keys = env.list("GATEWAY_ENCRYPTION_KEYS", default=[])
    if keys:
        return keys
    if not DEBUG:
        raise ImproperlyConfigured(
            "GATEWAY_ENCRYPTION_KEYS is required unless DEBUG is on "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        )
    # Development only: one key generated on first start and kept out of git in var/.
    from cryptography.fernet import Fernet

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "encryption.key"
    if not key_file.exists():
        key_file.write_bytes(Fernet.generate_key())
        key_file.chmod(0o600)
    return [key_file.read_text().strip()]


GATEWAY_ENCRYPTION_KEYS = _encryption_keys()

# --- Django REST framework and the schema ----------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["gateway.tenancy.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["gateway.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["gateway.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "gateway.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Assessment gateway",
    "DESCRIPTION": "One API for ATS assessment integrations: packages, orders and results.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    # Partner endpoints are plain Django views: each connector documents its own paths.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gateway.api.schema.connector_paths_hook",
    ],
}

# --- Security ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # Health checks from load balancers and docker-compose speak plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^health$"]

# --- Static files, time, logging ------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "gateway.api.middleware.RequestIdLogFilter"},
        # Django logs 4xx/5xx paths, which may hold a webhook token.
        "redact_paths": {"()": "gateway.api.middleware.PathRedactionFilter"},
    },
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["redact_paths"]},
    },
}
