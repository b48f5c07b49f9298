"""Settings for the DIDS Portal, read from the environment.

Without DATABASE_URL the portal runs on SQLite, and without CELERY_BROKER_URL tasks run
eagerly in the web process: the embedded default for a first run. Production sets both
(PostgreSQL and Redis), and so does CI.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dids_portal.lib.databases import database_aliases
from dids_portal.lib.env import env_bool, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

_secret = env_str("SECRET_KEY")
if not _secret:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG=1 allows a development key)."
        )
    _secret = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The admin, its ModelAdmin modules discovered by the URLconf (dids_portal/apps.py).
    "dids_portal.apps.AdminConfig",
    # The project: makes the Celery app as Django starts (the settings import no Celery).
    "dids_portal.apps.PortalConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "import_export",
    "simple_history",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "accounts",
    "reference",
    "submissions",
]

MIDDLEWARE = [
    # First: answers /healthz and /readyz before the host check, the HTTPS redirect and
    # sessions (a load balancer probes a backend by address over plain HTTP).
    "dids_portal.lib.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # no-store and the CSP on every response but static files, the guards' own answers included.
    "accounts.middleware.ResponseHeadersMiddleware",
    # NUL bytes in the address, query, headers or cookies: a 400 before anything reads them.
    "accounts.middleware.MalformedRequestMiddleware",
    # Before anything reads the body (CSRF reads POST): refuses oversized uploads with 413.
    "accounts.middleware.UploadSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, auth and messages middleware and the session limit and second factor,
    # each wrapped: an API request with an API token passes them by (accounts.token_requests).
    "accounts.token_requests.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.token_requests.AuthenticationMiddleware",
    "accounts.token_requests.SessionAbsoluteLimitMiddleware",
    "accounts.token_requests.OTPMiddleware",
    "accounts.token_requests.SecondFactorMiddleware",
    "accounts.token_requests.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # GET and HEAD of the national pages and statistics read from the replica, if there is one.
    "dids_portal.db_router.ReplicaReadsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dids_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "dids_portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "dids_portal.wsgi.application"

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
# Past one machine (docs/SCALING.md): an optional streaming replica that the national pages and
# statistics read from (dids_portal.db_router), and PgBouncer in transaction pooling in front.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL") or ""
DATABASE_POOLER = (env_str("DATABASE_POOLER") or "").lower()
DATABASES = database_aliases(url=DATABASE_URL, replica_url=DATABASE_REPLICA_URL,
                             pooler=DATABASE_POOLER)
DATABASE_ROUTERS = ["dids_portal.db_router.ReplicaRouter"]
DIDS_READ_REPLICA = "replica" if DATABASE_REPLICA_URL else ""
# A user who has just changed something reads from the primary for this long (replica lag).
DIDS_REPLICA_AFTER_WRITE_SECONDS = env_int("DIDS_REPLICA_AFTER_WRITE_SECONDS", 30, minimum=0)
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses sign-in while a user is locked out from the same address; then
# the rate limit of an account that failed sign-ins from many addresses (accounts.backends).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.GuessingLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "accounts:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT: str | Path = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT: str | Path = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = "media/"
# Stored uploads and extracts hold patient data: readable by the portal's user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploads: the largest file accepted, checked before the body is read.
DIDS_MAX_UPLOAD_BYTES = env_int("DIDS_MAX_UPLOAD_BYTES", 512 * 1024 * 1024, minimum=1024)

# The monthly cycle: the key of the NHS-number pseudonyms in national extracts (HMAC-SHA256,
# at least 32 bytes, else start-up stops; extracts are refused without it), and how many
# working days before a deadline the reminders go out.
DIDS_PSEUDONYM_KEY = env_secret("DIDS_PSEUDONYM_KEY", min_bytes=32)
DIDS_REMINDER_WORKING_DAYS = env_int("DIDS_REMINDER_WORKING_DAYS", 5, minimum=0)
# Plausibility against the organisation's own history: a version's records by modality at a
# site more than BELOW (a fraction) under, or ABOVE over, the median of its last 6 months'
# live versions (when there are at least 3), counting a movement only at MIN_RECORDS or more.
DIDS_PLAUSIBILITY_BELOW = env_float("DIDS_PLAUSIBILITY_BELOW", 0.30, minimum=0.0, maximum=1.0)
DIDS_PLAUSIBILITY_ABOVE = env_float("DIDS_PLAUSIBILITY_ABOVE", 0.50, minimum=0.0, maximum=100.0)
DIDS_PLAUSIBILITY_MIN_RECORDS = env_int("DIDS_PLAUSIBILITY_MIN_RECORDS", 50, minimum=0)
# The reference snapshot a check uses is kept in MEDIA_ROOT/cache/ until the reference data
# changes (submissions.selectors.reference_snapshot_load); off, it is built for every check.
DIDS_REFERENCE_SNAPSHOT_CACHE = env_bool("DIDS_REFERENCE_SNAPSHOT_CACHE", default=True)
# API tokens expire this many days after they are made.
DIDS_TOKEN_DAYS = env_int("DIDS_TOKEN_DAYS", 365, minimum=1)
# Storage grows with live data: the records of a version superseded this many days ago that no
# cut-off took move from the records table to a Parquet file beside its stored file
# (submissions.archive_services; the diff and --rebuild read them from there).
DIDS_SUPERSEDED_RECORDS_DAYS = env_int("DIDS_SUPERSEDED_RECORDS_DAYS", 35, minimum=0)
# Once the records archived out of a month's partition since it was last rewritten reach this
# share of what it held, the nightly task rewrites it (VACUUM FULL) to give the space back,
# waiting at most the seconds below for its lock (submissions.compaction; PostgreSQL only).
DIDS_COMPACT_FREE_SHARE = env_float("DIDS_COMPACT_FREE_SHARE", 0.2, minimum=0.0, maximum=1.0)
DIDS_COMPACT_LOCK_TIMEOUT_SECONDS = env_float("DIDS_COMPACT_LOCK_TIMEOUT_SECONDS", 5.0,
                                              minimum=0.1)
# Each cut-off's product, pseudonymised, as Parquet in a hive layout for the national data
# platform: ROOT/month=YYYY-MM/cutoff=provisional|final/part-0.parquet (needs the pseudonym key).
# Empty: MEDIA_ROOT/product.
DIDS_PRODUCT_ROOT = env_str("DIDS_PRODUCT_ROOT") or ""
# A verified API token is remembered this long in each web process (accounts/token_cache.py):
# a revocation, a lost role or a deactivated owner reaches the other processes within it.
DIDS_API_TOKEN_CACHE_SECONDS = env_int("DIDS_API_TOKEN_CACHE_SECONDS", 5, minimum=0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "dids_portal.lib.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "dids_portal.lib.errors.exception_handler",
    # JSON only in production: no browsable API (its negotiation and HTML forms cost each
    # request, and its pages are not the product; the OpenAPI docs are). DEBUG keeps it.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else [])],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "DIDS Portal API",
    "DESCRIPTION": (
        "Submission, validation and reference data API of the Diagnostic Imaging Data Set "
        "(DIDS) national collection. Authenticate with a session or an organisation API token "
        "(`Authorization: Token dids_...`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from a pinned package, served as the portal's own static files:
    # the docs work with no internet, and their page needs no other origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: no broker means tasks run eagerly in the calling process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or ""
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# The CPU priority (niceness, 0-19) of Celery workers, set as each starts (dids_portal/celery.py):
# where workers and gunicorn share cores, the web's short requests get the CPU first and the
# validations what is left, all of it when the web is idle. 5 keeps status polls quick during
# a rush at little cost to the drain (docs/SCALING.md); 0 leaves the worker as it was started.
DIDS_WORKER_NICE = env_int("DIDS_WORKER_NICE", 5, minimum=0)
if DIDS_WORKER_NICE > 19:
    raise ImproperlyConfigured(f"DIDS_WORKER_NICE must be at most 19, got {DIDS_WORKER_NICE}")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300, minimum=5)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 300}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Versions and extracts whose worker died are queued again by beat (and by every worker as it
# starts), without waiting for the broker's visibility timeout; queued ones after this many
# seconds.
# Every periodic task (recovery of versions and extracts whose worker died, cut-offs, reminders,
# the records archive) is in one table, submissions.periodic: beat's schedule (the Celery app's
# beat_schedule, set in dids_portal/celery.py, where Celery's own classes load) and
# ``setup_cycle_schedule`` install the same rows. Queued versions are queued again after this
# many seconds.
DIDS_REQUEUE_QUEUED_AFTER_SECONDS = env_int("DIDS_REQUEUE_QUEUED_AFTER_SECONDS", 120, minimum=5)
CELERY_TIMEZONE = TIME_ZONE
# Queues by kind, so that a long extract never delays validation: each worker is started for
# the queues it serves (``celery -A dids_portal worker -Q ingest``; README, docs/SCALING.md).
# A worker started without -Q serves all three (one machine). The Celery app declares them
# (its task_queues, kombu queues made in dids_portal/celery.py: the settings import no Celery).
DIDS_TASK_QUEUES = ("ingest", "cycle", "extracts")
CELERY_TASK_DEFAULT_QUEUE = "cycle"
CELERY_TASK_ROUTES = {
    "submissions.tasks.process_submission": {"queue": "ingest"},
    "submissions.tasks.recover_stalled_submissions": {"queue": "cycle"},
    "submissions.tasks.build_extract": {"queue": "extracts"},
    "submissions.tasks.write_product": {"queue": "extracts"},
    "submissions.tasks.recover_stalled_extracts": {"queue": "cycle"},
    "submissions.tasks.run_due_cutoffs": {"queue": "cycle"},
    "submissions.tasks.send_deadline_reminders": {"queue": "cycle"},
    "submissions.tasks.archive_superseded_records": {"queue": "cycle"},
    "submissions.tasks.compact_record_partitions": {"queue": "cycle"},
}

IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HTTPS: redirect and HSTS on unless DEBUG; a TLS-terminating proxy sets X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
# The Content-Security-Policy of every response (accounts.middleware.ResponseHeadersMiddleware):
# the site's own files only, no inline script or style. The API docs add Swagger UI's origin.
DIDS_CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# Sessions: 30 minutes idle (the expiry moves on with every request) and 12 hours in all
# (accounts.middleware.SessionAbsoluteLimitMiddleware); sign-out deletes the session row.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True
DIDS_SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60, minimum=60)

# Second factor (django-otp, TOTP): required of national analysts, reference admins and staff.
OTP_TOTP_ISSUER = "DIDS Portal"
OTP_TOTP_THROTTLE_FACTOR = 1

# Failed sign-ins (django-axes): lock the pair (user, address), never the user everywhere, so a
# stranger elsewhere cannot lock someone out; the lock lifts after the cool-off time.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.signals.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_nhs_numbers": {"()": "dids_portal.lib.logging.RedactNhsNumbers"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_nhs_numbers"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# PostgreSQL enforces "NULLS NOT DISTINCT" uniqueness on effective-dated codes; SQLite cannot,
# so on the embedded default those two constraints are checked by model validation only.
SILENCED_SYSTEM_CHECKS = ["models.W047"]
