"""Settings shared by every environment. Everything that varies comes from environment variables."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def config_error(message: str) -> None:
    """Stop at start-up with one clear line instead of a traceback."""
    sys.stderr.write(f"gmhsc: configuration error: {message}\n")
    raise SystemExit(2)


SECRET_KEY = env.str("SECRET_KEY", default="")
# Old keys still accepted for signatures while a new SECRET_KEY is rolled out (README, Operations).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "localities",
    "budgets",
    "commissioning",
    "boards",
    "gmhsc",
]

MIDDLEWARE = [
    "gmhsc.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gmhsc.urls"
WSGI_APPLICATION = "gmhsc.wsgi.application"
ASGI_APPLICATION = "gmhsc.asgi.application"

# Widgets render through the project's templates too (the GOV.UK date input, gmhsc.forms).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gmhsc.context_processors.navigation",
            ],
            "builtins": ["gmhsc.templatetags.money"],
        },
    }
]

# An empty DATABASE_URL means "not set" (production then refuses to start with one clear line).
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Write-ahead log: the web server and `make run`'s worker share the file, and readers then
    # never wait for a writer (or a writer for readers).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "localities.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Login lockout per user *and* address, so nobody can lock another person out on purpose.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind the documented reverse proxy every request comes from the proxy's address: the client is
# read from X-Forwarded-For, trusting exactly this many proxies (gmhsc/client_ip.py; README,
# Security). 0 (the default): the connection's own address, X-Forwarded-For ignored.
GMHSC_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "gmhsc.client_ip.client_ip"

# Content Security Policy: no inline script anywhere, no third-party origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Uploads: ledger files may be large; they are streamed to disk, never held in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
GMHSC_MAX_UPLOAD_BYTES = env.int("GMHSC_MAX_UPLOAD_BYTES", default=150 * 1024 * 1024)
GMHSC_MAX_UPLOAD_ROWS = env.int("GMHSC_MAX_UPLOAD_ROWS", default=1_000_000)
GMHSC_MAX_PAPER_BYTES = env.int("GMHSC_MAX_PAPER_BYTES", default=20 * 1024 * 1024)
# Imports with more rows than this run as a Celery task with progress; smaller ones run at once.
GMHSC_IMPORT_ASYNC_ROWS = env.int("GMHSC_IMPORT_ASYNC_ROWS", default=5_000)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="gmhsc@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "gmhsc.errors.api_exception_handler",
    "NUM_PROXIES": GMHSC_TRUSTED_PROXY_COUNT or None,
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {
        "posting": env.str("THROTTLE_POSTING", default="600/min"),
        "import": env.str("THROTTLE_IMPORT", default="30/min"),
        "export": env.str("THROTTLE_EXPORT", default="60/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "gmhsc API",
    "DESCRIPTION": "Pooled health and social care budgets for Greater Manchester: funds, lines, spend, variance, boards.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # A ledger mapping matches its cost centre and its expense code the same ways: one enum.
    "ENUM_NAME_OVERRIDES": {"CodeMatchEnum": "budgets.models.ledger.LedgerMapping.Match"},
    # Swagger UI and ReDoc from the pinned drf-spectacular-sidecar package, served as static
    # files: no CDN, and no inline script (the CSP allows scripts from 'self' only).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis when REDIS_URL is set, otherwise tasks run in-process (local.py gives `make run`
# a worker over a folder-based broker instead).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# No result backend: nothing reads task results (jobs keep their state in their own rows), and a
# Redis result backend made every send wait on, and finally give up, its reconnection to Redis.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that loses the broker retries for ever (Celery's default gives up after 100 tries).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A running task does not need the broker: it finishes, and its job row says so. (Its message is
# acknowledged when it can be; a redelivery finds the job finished and does nothing.)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Time limits: every task has a hard limit, and no limit is longer than GMHSC_LONGEST_TASK_SECONDS
# (the nightly reconcile's). Redis redelivers an unacknowledged message after the visibility
# timeout, so it must be longer than any task may run, or a long task would run twice at once; it
# is that longest limit plus 5 minutes. Work a killed worker leaves behind is not left to it: job
# heartbeats and the sweep below pick it up within minutes (gmhsc/jobs.py).
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
GMHSC_LONGEST_TASK_SECONDS = 55 * 60
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": GMHSC_LONGEST_TASK_SECONDS + 5 * 60
}
# Jobs (ledger imports, exports, month-close files, board packs): a worker writes the job's
# heartbeat every GMHSC_JOB_HEARTBEAT_SECONDS while it works on it; the sweep, every
# GMHSC_SWEEP_SECONDS, sends again any unfinished job with no heartbeat for GMHSC_JOB_STUCK_SECONDS
# and /health/ reports it; a job taken GMHSC_JOB_MAX_ATTEMPTS times without finishing fails.
GMHSC_JOB_HEARTBEAT_SECONDS = env.float("GMHSC_JOB_HEARTBEAT_SECONDS", default=30.0)
GMHSC_JOB_STUCK_SECONDS = env.float("GMHSC_JOB_STUCK_SECONDS", default=180.0)
GMHSC_JOB_MAX_ATTEMPTS = env.int("GMHSC_JOB_MAX_ATTEMPTS", default=3)
GMHSC_SWEEP_SECONDS = env.float("GMHSC_SWEEP_SECONDS", default=30.0)
GMHSC_HEARTBEAT_SECONDS = env.float("GMHSC_HEARTBEAT_SECONDS", default=60.0)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "budgets.tasks.recompute_*": {"queue": "recompute"},
    "budgets.tasks.sweep_*": {"queue": "recompute"},
    "budgets.tasks.reconcile_*": {"queue": "recompute"},
    "budgets.tasks.import_*": {"queue": "imports"},
    "budgets.tasks.export_*": {"queue": "exports"},
    "budgets.tasks.period_close_*": {"queue": "exports"},
    "boards.tasks.*": {"queue": "exports"},
    "commissioning.tasks.*": {"queue": "default"},
}
CELERY_WORKER_QUEUES = "default,recompute,imports,exports"
# Task modules beyond each app's tasks.py (autodiscovered).
CELERY_IMPORTS = [
    "gmhsc.tasks",
    "budgets.figures.tasks",
    "budgets.ledger.tasks",
    "budgets.reports.tasks",
]
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-marks": {
        "task": "budgets.tasks.sweep_stale_marks",
        "schedule": GMHSC_SWEEP_SECONDS,
    },
    "sweep-jobs": {"task": "gmhsc.tasks.sweep_jobs", "schedule": GMHSC_SWEEP_SECONDS},
    "nightly-reconcile": {
        "task": "budgets.tasks.reconcile_all",
        "schedule": crontab(hour=2, minute=15),
    },
    "worker-heartbeat": {"task": "gmhsc.tasks.heartbeat", "schedule": GMHSC_HEARTBEAT_SECONDS},
}

CACHES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
if REDIS_URL:
    # Safe to lose: while Redis is unreachable each process answers from its own memory
    # (gmhsc/cache.py), so no page, API write or sign-in fails with it.
    CACHES = {
        "default": {
            "BACKEND": "gmhsc.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
GMHSC_CACHE_RETRY_SECONDS = 5
# Sessions live in the database whatever the cache: signing in never depends on Redis.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "gmhsc.middleware.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "gmhsc.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint reports every rendering step at INFO; only its warnings matter to us.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

GMHSC_DEMO_PASSWORD = env.str("GMHSC_DEMO_PASSWORD", default="gm-demo-pass-2016")
