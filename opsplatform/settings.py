"""Settings for OpsPlatform, read from the environment (see README "Configuration").

Every value has a safe default for local development; a malformed value fails at start-up
rather than at the first request that needs it.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import environ

from audit.retention.registry import deployment_retention
from opsplatform.core.logging import logging_config
from opsplatform.devtools import devservices

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The fallback key only exists so `make run` works out of the box; production refuses it below.
_DEV_SECRET = "dev-insecure-0p5pl4tf0rm-k3y-for-local-use-only-never-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET)
if not DEBUG and SECRET_KEY == _DEV_SECRET and not env.bool("ALLOW_DEV_SECRET", default=False):
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Links in e-mails and printed URLs; by default where `make run` serves (HOST/PORT as the runner reads them).
SITE_URL = env.str(
    "SITE_URL", default=f"http://{env.str('HOST', default='127.0.0.1')}:{env.str('PORT', default='8000')}"
).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.forms",
    "channels",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    "axes",
    "opsplatform.core",
    "opsplatform.accounts",
    "audit",
    "incidents",
    "notifications",
    "monitoring",
    "monitoring.statuspages",
    "workflows",
    "knowledge",
    "knowledge.postmortems",
    "opsplatform.home",
    "opsplatform.analytics",
    "opsplatform.devtools.demo",
]

MIDDLEWARE = [
    "opsplatform.core.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A status page's custom domain answers "/" with the page (one cache read on root requests).
    "monitoring.statuspages.middleware.CustomDomainMiddleware",
    "opsplatform.api.middleware.ApiBodyLimitMiddleware",
    "opsplatform.api.middleware.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "opsplatform.accounts.middleware.CurrentOrganizationMiddleware",
    "opsplatform.accounts.middleware.TwoFactorGateMiddleware",
    # Axes last, as its docs require, so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opsplatform.urls"
ASGI_APPLICATION = "opsplatform.asgi.application"
WSGI_APPLICATION = "opsplatform.wsgi.application"

# Widgets render from templates/ (the design system's chips and dropdowns live there).
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
                "opsplatform.accounts.context_processors.organization",
            ],
        },
    },
]

# --- Backing services -------------------------------------------------------------------------
# Unset URLs mean "the embedded servers under var/" that `make run` / `make test` start.
DATABASE_URL = env.str("DATABASE_URL", default="") or devservices.embedded_database_url()
REDIS_URL = env.str("REDIS_URL", default="") or devservices.embedded_redis_url()

DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
# The name its sessions show in pg_stat_activity (`make run` names each process: "opsplatform web",
# "opsplatform paging", ...). An application_name in DATABASE_URL's query string wins, and libpq's
# own PGAPPNAME is honoured when DATABASE_APPLICATION_NAME is not set.
DATABASES["default"]["OPTIONS"].setdefault(
    "application_name",
    env.str("DATABASE_APPLICATION_NAME", default="") or os.environ.get("PGAPPNAME", "") or "opsplatform",
)
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ops"),
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": env.str("CHANNELS_PREFIX", default="ops-asgi"),
        },
    }
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or devservices.celery_url(REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Celery's Django support closes every database connection before and after each task, and in a
# prefork worker with a connection pool (DB_POOL_MAX_SIZE) it closes the whole pool: every tick then
# opened a new pool and its connections (three backends a task, measured), and the ledger sealer's
# thread lost its connection mid-seal. This makes that close happen only every billion tasks; the
# worker instead returns connections as a web request does (opsplatform/celery.py).
CELERY_DB_REUSE_MAX = 1_000_000_000
# Tasks enqueued without an explicit queue (e.g. the delivery kick after an escalation tick) go here;
# tests and benchmarks give their own workers a queue of their own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Set, the escalation and delivery ticks go to this queue, for a worker that serves only it (the
# runner of `make run` starts one): a first page then never waits behind the other ticks of a storm.
# Empty, they share the default queue.
CELERY_PAGING_QUEUE = env.str("CELERY_PAGING_QUEUE", default="")
# Set, the delivery tick goes to this queue instead (the runner starts a worker for it): a delivery
# tick spends seconds sending, and escalation ticks must not queue behind it, nor it behind them.
CELERY_DELIVERY_QUEUE = env.str("CELERY_DELIVERY_QUEUE", default="") or CELERY_PAGING_QUEUE
CELERY_TASK_ROUTES = {
    **({"notifications.escalation_tick": {"queue": CELERY_PAGING_QUEUE}} if CELERY_PAGING_QUEUE else {}),
    **({"notifications.delivery_tick": {"queue": CELERY_DELIVERY_QUEUE}} if CELERY_DELIVERY_QUEUE else {}),
}

# --- Auth and security -----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# The ledger port of the layers below audit (accounts): the function that appends an entry.
LEDGER_RECORDER = "audit.services.record"
# Hot writers (ingestion, escalation, delivery) stage their ledger entries and a sealer chains them
# just after commit, instead of each taking the organization's chain lock in its own transaction.
LEDGER_SEAL_DEFERRED = env.bool("LEDGER_SEAL_DEFERRED", default=True)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Brute-force protection: failures are counted per IP and, separately, per username (existing or
# not, so the answer never tells them apart). A lock always expires: nobody can be locked out for good.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
# A lock ends a fixed time after it began: failures during the lock do not extend it, so someone
# hammering a victim's username cannot keep them out for good.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "opsplatform.accounts.views.auth.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

OTP_TOTP_ISSUER = env.str("OTP_ISSUER", default="OpsPlatform")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag; kept readable for forms
SECURE = not DEBUG and env.bool("SECURE_COOKIES", default=True)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- API --------------------------------------------------------------------------------------
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=512 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "opsplatform.api.authentication.BearerTokenAuthentication",
        "opsplatform.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["opsplatform.api.permissions.HasCapability"],
    "DEFAULT_PARSER_CLASSES": ["opsplatform.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "opsplatform.api.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["opsplatform.api.throttling.PerTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_THROTTLE_RATE", default="1200/min")},
    # Client IPs for anonymous rate limits: X-Forwarded-For is only believed behind this many proxies.
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "EXCEPTION_HANDLER": "opsplatform.api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "opsplatform.api.schema.ProblemAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OpsPlatform API",
    "DESCRIPTION": "Incidents, alerting, on-call and the event ledger. Errors are RFC 9457 problem+json.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: no CDN, works on a closed network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "opsplatform.api.schema_links.add_links",
    ],
    # One schema name per choice set that several fields share (``status`` means more than one thing).
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.enums.Status",
        "SeverityEnum": "incidents.models.enums.Severity",
        "InvitationStatusEnum": ["pending", "accepted", "revoked", "expired"],
        "ChannelKindEnum": "notifications.models.channels.ChannelKind",
        "NotificationStatusEnum": "notifications.models.outbox.NotificationStatus",
        "NotificationMediumEnum": "notifications.models.outbox.Medium",
        "AttemptOutcomeEnum": "notifications.models.outbox.AttemptOutcome",
        "EscalationTargetTypeEnum": "notifications.models.escalation.TargetKind",
        "RotationEnum": "notifications.models.schedules.RotationKind",
        "CoverStatusEnum": "notifications.models.schedules.CoverStatus",
        "PostmortemStatusEnum": "knowledge.postmortems.models.PostmortemStatus",
    },
}

# --- Internationalization, static -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("MANIFEST_STATIC", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Knowledge attachments: outside the static tree, served only through the access-checked view.
KNOWLEDGE_MEDIA_ROOT = env.path("KNOWLEDGE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
KNOWLEDGE_ATTACHMENT_MAX_BYTES = env.int("KNOWLEDGE_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Serve straight from the finders in development and tests so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="opsplatform@localhost")

INVITATION_TTL = timedelta(days=env.int("INVITATION_TTL_DAYS", default=7))
# E-mail sign-in links (docs/sign-in.md): minutes a link works, and requests per hour per address / IP.
SIGNIN_LINK_TTL = timedelta(minutes=env.int("SIGNIN_LINK_TTL_MINUTES", default=10))
SIGNIN_LINKS_PER_ADDRESS_HOUR = env.int("SIGNIN_LINKS_PER_ADDRESS_HOUR", default=5)
SIGNIN_LINKS_PER_IP_HOUR = env.int("SIGNIN_LINKS_PER_IP_HOUR", default=30)
if (
    not (1 <= SIGNIN_LINK_TTL.total_seconds() // 60 <= 60)
    or min(SIGNIN_LINKS_PER_ADDRESS_HOUR, SIGNIN_LINKS_PER_IP_HOUR) < 1
):
    raise environ.ImproperlyConfigured(
        "SIGNIN_LINK_TTL_MINUTES must be 1-60 and SIGNIN_LINKS_PER_*_HOUR at least 1"
    )

# Single sign-on (docs/sign-in.md): how long discovery documents and keys are cached, how often an
# unknown key id may fetch the keys again, how long a sign-in may take at the provider, and the
# oldest ID token accepted. Issuers must be https:// unless SSO_ALLOW_HTTP_ISSUERS (tests only).
SSO_METADATA_CACHE_SECONDS = env.int("SSO_METADATA_CACHE_SECONDS", default=3600)
SSO_JWKS_REFRESH_SECONDS = env.int("SSO_JWKS_REFRESH_SECONDS", default=30)
SSO_FLOW_MAX_SECONDS = env.int("SSO_FLOW_MAX_SECONDS", default=600)
SSO_MAX_TOKEN_AGE_SECONDS = env.int("SSO_MAX_TOKEN_AGE_SECONDS", default=600)
SSO_ALLOW_HTTP_ISSUERS = False

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# The ASGI server's line per request (written by a background thread); `make run` turns it off.
WEB_ACCESS_LOG = env.bool("WEB_ACCESS_LOG", default=True)
LOGGING = logging_config(LOG_LEVEL, access_log=WEB_ACCESS_LOG)
INCIDENT_REOPEN_WINDOW = timedelta(hours=env.int("INCIDENT_REOPEN_WINDOW_HOURS", default=72))

# Static beat entries only: per-object timers live in database columns, claimed by these ticks.
CELERY_BEAT_SCHEDULE = {
    # Workflows: stale approvals (remind, then escalate), overdue tasks, the incident playbook
    # trigger (reads incident.triggered ledger entries) and the workflows outbox.
    "workflows-approvals": {"task": "workflows.approvals_tick", "schedule": 30.0},
    "workflows-tasks-overdue": {"task": "workflows.tasks_overdue_tick", "schedule": 30.0},
    "workflows-playbook": {"task": "workflows.playbook_tick", "schedule": 5.0},
    "workflows-notices": {"task": "workflows.notice_tick", "schedule": 5.0},
    # Postmortems follow their review run (moved on the run page or by an approval gate).
    "postmortems-review": {"task": "knowledge.postmortems.review_tick", "schedule": 15.0},
    # Reads the ledger and runs due automation (retries, approved risky actions): lag is one tick.
    "workflows-automation": {
        "task": "workflows.automation_tick",
        "schedule": env.float("AUTOMATION_TICK_SECONDS", default=2.0),
    },
    "incidents-sla": {"task": "incidents.sla_tick", "schedule": env.float("SLA_TICK_SECONDS", default=15.0)},
    "incidents-unsnooze": {"task": "incidents.unsnooze_tick", "schedule": 15.0},
    "notifications-escalation": {
        "task": "notifications.escalation_tick",
        "schedule": env.float("ESCALATION_TICK_SECONDS", default=1.0),
    },
    "notifications-delivery": {
        "task": "notifications.delivery_tick",
        "schedule": env.float("DELIVERY_TICK_SECONDS", default=2.0),
    },
    # A missed heartbeat is reported at most this late after its grace period ends.
    "incidents-ingest-heartbeats": {
        "task": "incidents.ingest_heartbeat_tick",
        "schedule": env.float("HEARTBEAT_TICK_SECONDS", default=5.0),
    },
    # Integration counters are counted in Redis on the hot path and written to the database here.
    "incidents-ingest-counters": {
        "task": "incidents.ingest_counters_tick",
        "schedule": env.float("INGEST_COUNTERS_FLUSH_SECONDS", default=30.0),
    },
    # Retention of every kind of data (audit/retention/registry.py), the ledger archive included: due
    # times live in RetentionJob rows; this tick claims them.
    "audit-retention": {
        "task": "audit.retention_tick",
        "schedule": env.float("RETENTION_TICK_SECONDS", default=60.0),
    },
    # Staged ledger entries are sealed by their writer's process just after commit; this seals what
    # a process left behind when it died in between.
    "audit-seal": {
        "task": "audit.seal_pending",
        "schedule": env.float("LEDGER_SEAL_SWEEP_SECONDS", default=5.0),
    },
    # Event-log entries that could not reach MongoDB wait in an outbox table; this moves them there.
    "audit-eventlog-drain": {
        "task": "audit.eventlog_drain",
        "schedule": env.float("EVENT_LOG_DRAIN_SECONDS", default=15.0),
    },
    # Analytics: recompute the rollup days that changed; compute the reports pages asked for.
    "analytics-refresh": {
        "task": "opsplatform.analytics.refresh_tick",
        "schedule": env.float("ANALYTICS_REFRESH_SECONDS", default=60.0),
    },
    "analytics-reports": {"task": "opsplatform.analytics.report_tick", "schedule": 5.0},
    # Monitoring: due checks live in monitor.next_check_at; this tick claims them in batches.
    # A tick claims what falls due before its successor runs; one that waited in the queue for longer
    # than a few intervals is dropped (the next one claims the same rows), so ticks never pile up.
    "monitoring-checks": {
        "task": "monitoring.check_tick",
        "schedule": env.float("MONITORING_TICK_SECONDS", default=1.0),
        "options": {"expire_seconds": max(5, int(5 * env.float("MONITORING_TICK_SECONDS", default=1.0)))},
    },
    "monitoring-rollups": {"task": "monitoring.rollup_tick", "schedule": 60.0},
    # Status pages: confirmation and update mails to subscribers wait in their outbox for this tick.
    "statuspages-delivery": {
        "task": "monitoring.statuspages.delivery_tick",
        "schedule": env.float("STATUS_DELIVERY_TICK_SECONDS", default=5.0),
    },
    "accounts-signin-links-retention": {
        "task": "opsplatform.accounts.signin_links_retention_tick",
        "schedule": 3600.0,
    },
}
# Monitoring: monitors claimed per batch, probes in flight at once, how long one tick keeps claiming,
# and how long raw check results (and minute rollups) are kept; hour rollups are kept.
MONITORING_BATCH_SIZE = env.int("MONITORING_BATCH_SIZE", default=200)
MONITORING_CONCURRENCY = env.int("MONITORING_CONCURRENCY", default=64)
MONITORING_TICK_BUDGET_SECONDS = env.float("MONITORING_TICK_BUDGET_SECONDS", default=5.0)
# How far ahead of now a tick claims checks (each starts at its own due time): the tick interval
# and a margin for beat's own delay, so a check never waits for the next tick.
MONITORING_LOOKAHEAD_SECONDS = env.float(
    "MONITORING_LOOKAHEAD_SECONDS", default=1.5 * CELERY_BEAT_SCHEDULE["monitoring-checks"]["schedule"]
)
MONITORING_RESULT_RETENTION_DAYS = env.int("MONITORING_RESULT_RETENTION_DAYS", default=14)
MONITORING_MINUTE_ROLLUP_RETENTION_DAYS = env.int("MONITORING_MINUTE_ROLLUP_RETENTION_DAYS", default=90)
if MONITORING_BATCH_SIZE < 1 or MONITORING_CONCURRENCY < 1 or MONITORING_RESULT_RETENTION_DAYS < 1:
    raise environ.ImproperlyConfigured("MONITORING_* sizes and retention must be at least 1")
# --- Data lifecycle (docs/data-lifecycle.md) ----------------------------------------------------
# Per kind of data: RETENTION_<KIND>_DAYS (the deployment default) within _MIN_DAYS/_MAX_DAYS, the
# bounds an organization's own setting must respect. The kinds are listed in audit/retention/registry.py.
RETENTION = deployment_retention(env)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
RETENTION_BATCH_PAUSE_SECONDS = env.float("RETENTION_BATCH_PAUSE_SECONDS", default=0.02)
RETENTION_RUN_INTERVAL_SECONDS = env.float("RETENTION_RUN_INTERVAL_SECONDS", default=3600.0)
RETENTION_TICK_BUDGET_SECONDS = env.float("RETENTION_TICK_BUDGET_SECONDS", default=50.0)
RETENTION_LEASE_SECONDS = env.float("RETENTION_LEASE_SECONDS", default=600.0)
if RETENTION_BATCH_SIZE < 1 or RETENTION_LEASE_SECONDS <= RETENTION_TICK_BUDGET_SECONDS:
    raise environ.ImproperlyConfigured(
        "RETENTION_BATCH_SIZE must be at least 1, "
        "and RETENTION_LEASE_SECONDS must be above RETENTION_TICK_BUDGET_SECONDS"
    )
# Ledger archive: the Ed25519 key that signs checkpoints (urlsafe base64 of the 32-byte private key, or
# a PEM); unset, a key is read from LEDGER_SIGNING_KEY_FILE, which development creates on first use.
# LEDGER_TRUSTED_PUBLIC_KEYS: earlier keys (base64 of 32-byte public keys) whose checkpoints still verify.
LEDGER_SIGNING_KEY = env.str("LEDGER_SIGNING_KEY", default="")
LEDGER_SIGNING_KEY_FILE = env.path(
    "LEDGER_SIGNING_KEY_FILE", default=str(BASE_DIR / "var" / "ledger-signing.key")
)
LEDGER_SIGNING_KEY_GENERATE = env.bool(
    "LEDGER_SIGNING_KEY_GENERATE", default=DEBUG or env.bool("ALLOW_DEV_SECRET", default=False)
)
LEDGER_TRUSTED_PUBLIC_KEYS = env.list("LEDGER_TRUSTED_PUBLIC_KEYS", default=[])
LEDGER_ARCHIVE_DIR = env.path("LEDGER_ARCHIVE_DIR", default=str(BASE_DIR / "var" / "ledger-archive"))
LEDGER_ARCHIVE_SPAN = env.int("LEDGER_ARCHIVE_SPAN", default=50000)
# MongoDB (optional): the ledger archive and the high-volume event logs go there when it is set.
MONGO_URL = env.str("MONGO_URL", default="")
MONGO_DATABASE = env.str("MONGO_DATABASE", default="opsplatform")
# Event logs (audit/eventlog/): raw payloads, notification attempts, check results. "postgres" keeps
# them in their tables; "mongo" writes them to MongoDB after commit through a bounded buffer that
# spills to a PostgreSQL outbox while MongoDB is away (drained by the audit-eventlog-drain tick).
EVENT_LOGS_BACKEND = env.str("EVENT_LOGS_BACKEND", default="mongo" if MONGO_URL else "postgres")
if EVENT_LOGS_BACKEND not in ("postgres", "mongo") or (EVENT_LOGS_BACKEND == "mongo" and not MONGO_URL):
    raise environ.ImproperlyConfigured(
        'EVENT_LOGS_BACKEND must be "postgres" or "mongo" (and "mongo" needs MONGO_URL)'
    )
EVENT_LOG_SHIP_BATCH = env.int("EVENT_LOG_SHIP_BATCH", default=500)
EVENT_LOG_SHIP_SECONDS = env.float("EVENT_LOG_SHIP_SECONDS", default=2.0)
# Status pages: how long readers share one rendering, the public subscribe form's limits (per client
# address and per e-mail address, each per hour) and how long a confirmation link stays valid.
STATUS_PAGE_CACHE_SECONDS = env.int("STATUS_PAGE_CACHE_SECONDS", default=15)
STATUS_SUBSCRIBE_PER_IP_HOUR = env.int("STATUS_SUBSCRIBE_PER_IP_HOUR", default=10)
STATUS_SUBSCRIBE_PER_ADDRESS_HOUR = env.int("STATUS_SUBSCRIBE_PER_ADDRESS_HOUR", default=3)
STATUS_CONFIRM_LINK_MAX_AGE_HOURS = env.int("STATUS_CONFIRM_LINK_MAX_AGE_HOURS", default=72)
if STATUS_PAGE_CACHE_SECONDS < 0 or STATUS_SUBSCRIBE_PER_IP_HOUR < 1 or STATUS_SUBSCRIBE_PER_ADDRESS_HOUR < 1:
    raise environ.ImproperlyConfigured("STATUS_* limits must be at least 1 (the cache time at least 0)")
EVENT_LOG_BUFFER_SIZE = env.int("EVENT_LOG_BUFFER_SIZE", default=20000)
EVENT_LOG_SHIP_RETRIES = env.int("EVENT_LOG_SHIP_RETRIES", default=2)
EVENT_LOG_SHIP_BACKOFF_SECONDS = env.float("EVENT_LOG_SHIP_BACKOFF_SECONDS", default=0.2)
EVENT_LOG_MONGO_PAUSE_SECONDS = env.float("EVENT_LOG_MONGO_PAUSE_SECONDS", default=30.0)
# Ship in the committing thread instead of the background one (tests: deterministic order).
EVENT_LOG_SHIP_INLINE = env.bool("EVENT_LOG_SHIP_INLINE", default=False)
if EVENT_LOG_SHIP_BATCH < 1 or EVENT_LOG_BUFFER_SIZE < EVENT_LOG_SHIP_BATCH or EVENT_LOG_SHIP_RETRIES < 0:
    raise environ.ImproperlyConfigured(
        "EVENT_LOG_SHIP_BATCH must be at least 1, EVENT_LOG_BUFFER_SIZE at least the batch, "
        "EVENT_LOG_SHIP_RETRIES not negative"
    )
# Task modules beyond each app's ``tasks.py`` (which the worker finds by itself): without them here,
# a beat entry naming one of their tasks reaches a worker that does not know it.
CELERY_IMPORTS = ["incidents.ingest.tasks"]
# Key for secrets at rest (see opsplatform/core/crypto.py); empty derives one from SECRET_KEY.
ENCRYPTION_KEY = env.str("ENCRYPTION_KEY", default="")

# --- Outbound HTTP and paging -----------------------------------------------------------------
# CIDRs the SSRF guard lets through although they are loopback/private/link-local (opsplatform/core/http.py),
# e.g. "10.20.0.0/16,192.168.5.7/32" for an on-premises chat server. Empty: public addresses only.
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])
try:
    for _cidr in OUTBOUND_ALLOWED_NETWORKS:
        ipaddress.ip_network(_cidr.strip(), strict=False)
except ValueError as _exc:
    raise environ.ImproperlyConfigured(f"OUTBOUND_ALLOWED_NETWORKS: {_exc}") from _exc
OUTBOUND_CONNECT_TIMEOUT = env.float("OUTBOUND_CONNECT_TIMEOUT", default=5.0)
OUTBOUND_READ_TIMEOUT = env.float("OUTBOUND_READ_TIMEOUT", default=10.0)
# The whole of one outbound request, connect to last byte read; the sending lease must outlast it.
OUTBOUND_TOTAL_TIMEOUT = env.float("OUTBOUND_TOTAL_TIMEOUT", default=20.0)
OUTBOUND_MAX_RESPONSE_BYTES = env.int("OUTBOUND_MAX_RESPONSE_BYTES", default=65536)

# Delivery outbox: attempts per notification before it is dead-lettered, backoff between them, and
# how long a claimed row may stay "sending" before another worker assumes its sender died.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=6)
NOTIFICATION_RETRY_BASE_SECONDS = env.float("NOTIFICATION_RETRY_BASE_SECONDS", default=15.0)
NOTIFICATION_RETRY_MAX_SECONDS = env.float("NOTIFICATION_RETRY_MAX_SECONDS", default=900.0)
NOTIFICATION_SENDING_LEASE_SECONDS = env.float("NOTIFICATION_SENDING_LEASE_SECONDS", default=120.0)
if NOTIFICATION_SENDING_LEASE_SECONDS <= 2 * OUTBOUND_TOTAL_TIMEOUT:
    # A lease that can run out while its send is still under way lets another worker send it again.
    raise environ.ImproperlyConfigured(
        "NOTIFICATION_SENDING_LEASE_SECONDS must be more than twice OUTBOUND_TOTAL_TIMEOUT"
    )
NOTIFICATION_DELIVERY_CONCURRENCY = env.int("NOTIFICATION_DELIVERY_CONCURRENCY", default=32)
NOTIFICATION_DELIVERY_BATCH = env.int("NOTIFICATION_DELIVERY_BATCH", default=100)
# Requests one delivery tick has in flight to one host at a time (a slow receiver takes no more of
# its threads); rows for a host at the limit go back to the outbox for this many seconds, untried.
NOTIFICATION_DELIVERY_PER_DESTINATION = env.int("NOTIFICATION_DELIVERY_PER_DESTINATION", default=16)
NOTIFICATION_BUSY_DESTINATION_DEFER_SECONDS = env.float(
    "NOTIFICATION_BUSY_DESTINATION_DEFER_SECONDS", default=2.0
)
# A delivery tick hands its worker back after this long even with a backlog (the next beat or kick
# goes on). Where the same workers run the escalation tick, this bounds how long one can wait.
NOTIFICATION_DELIVERY_TICK_BUDGET_SECONDS = env.float(
    "NOTIFICATION_DELIVERY_TICK_BUDGET_SECONDS", default=5.0
)
# One-click acknowledge links in e-mail and Slack messages stop working after this long.
ACK_LINK_MAX_AGE = timedelta(hours=env.int("ACK_LINK_MAX_AGE_HOURS", default=24))
# Verification codes (texts and calls cost money) each person, and an organization's members
# together, may ask for per hour; deleting and re-adding a contact method does not reset them.
NOTIFICATION_VERIFICATIONS_PER_USER_HOUR = env.int("NOTIFICATION_VERIFICATIONS_PER_USER_HOUR", default=5)
NOTIFICATION_VERIFICATIONS_PER_ORGANIZATION_HOUR = env.int(
    "NOTIFICATION_VERIFICATIONS_PER_ORGANIZATION_HOUR", default=50
)
# Web push (docs/sign-in.md): the deployment's VAPID key (raw P-256 private key, urlsafe base64;
# `python -m opsplatform.devtools.vapid` prints a new one). Unset: generated under var/ on a
# development machine (DEBUG on, or the development secret allowed: `make run`'s Celery workers run
# without DEBUG and send the pages its web processes subscribed), else browser push is off. The
# subject is how push services reach the operator (mailto: or https:).
WEB_PUSH_VAPID_PRIVATE_KEY = env.str("WEB_PUSH_VAPID_PRIVATE_KEY", default="")
if not WEB_PUSH_VAPID_PRIVATE_KEY and (DEBUG or env.bool("ALLOW_DEV_SECRET", default=False)):
    WEB_PUSH_VAPID_PRIVATE_KEY = devservices.dev_vapid_private_key(BASE_DIR / "var" / "web-push-vapid.key")
WEB_PUSH_SUBJECT = env.str("WEB_PUSH_SUBJECT", default=f"mailto:{DEFAULT_FROM_EMAIL}")
# Seconds a push service keeps a page for a device that is offline; pages older than that are stale.
WEB_PUSH_TTL_SECONDS = env.int("WEB_PUSH_TTL_SECONDS", default=3600)
# Twilio's REST API; only tests and on-premises gateways speaking Twilio's API change it.
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com").rstrip("/")
_AT_LEAST_ONE = (
    "NOTIFICATION_MAX_ATTEMPTS",
    "NOTIFICATION_DELIVERY_CONCURRENCY",
    "NOTIFICATION_DELIVERY_BATCH",
    "NOTIFICATION_DELIVERY_PER_DESTINATION",
    "NOTIFICATION_VERIFICATIONS_PER_USER_HOUR",
    "NOTIFICATION_VERIFICATIONS_PER_ORGANIZATION_HOUR",
)
for _name in _AT_LEAST_ONE:
    if globals()[_name] < 1:
        raise environ.ImproperlyConfigured(f"{_name} must be at least 1")

# --- Alert ingestion --------------------------------------------------------------------------
# Requests per integration unless the integration sets its own rate ("<n>/<s|min|hour|day>").
INGEST_THROTTLE_RATE = env.str("INGEST_THROTTLE_RATE", default="6000/min")
# Raw payloads are kept for debugging on the integration page: at most this many bytes each, this long.
INGEST_RAW_PAYLOAD_MAX_BYTES = env.int("INGEST_RAW_PAYLOAD_MAX_BYTES", default=64 * 1024)
INGEST_RAW_PAYLOAD_RETENTION_DAYS = env.int("INGEST_RAW_PAYLOAD_RETENTION_DAYS", default=7)
# After a key rotation the previous key keeps working this long unless the rotation says otherwise.
INGEST_KEY_OVERLAP_HOURS = env.int("INGEST_KEY_OVERLAP_HOURS", default=24)
# A signed Grafana request with a timestamp older (or newer) than this is refused as a replay.
INGEST_SIGNATURE_MAX_AGE_SECONDS = env.int("INGEST_SIGNATURE_MAX_AGE_SECONDS", default=300)
# One schema name for choice sets the integration API shares with others.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "IntegrationKindEnum": "incidents.models.integration.IntegrationKind",
        "PriorityEnum": "incidents.models.enums.Priority",
    }
)
_rate_count, _, _rate_period = INGEST_THROTTLE_RATE.partition("/")
if not (
    _rate_count.isdigit()
    and int(_rate_count) > 0
    and _rate_period in ("s", "sec", "m", "min", "h", "hour", "d", "day")
):
    raise environ.ImproperlyConfigured("INGEST_THROTTLE_RATE must look like 6000/min")
if (
    INGEST_RAW_PAYLOAD_MAX_BYTES < 1024
    or INGEST_RAW_PAYLOAD_RETENTION_DAYS < 1
    or INGEST_KEY_OVERLAP_HOURS < 0
):
    raise environ.ImproperlyConfigured(
        "INGEST_RAW_PAYLOAD_MAX_BYTES must be at least 1024, INGEST_RAW_PAYLOAD_RETENTION_DAYS at least 1 "
        "and INGEST_KEY_OVERLAP_HOURS not negative"
    )

# --- Database connection pool -----------------------------------------------------------------
# Under ASGI each request runs in a thread of its own, so a persistent connection (DB_CONN_MAX_AGE)
# is never reused and every request would open a new PostgreSQL connection (a backend process each).
# DB_POOL_MAX_SIZE > 0 turns on Django's psycopg pool instead, shared by the threads of a process;
# DB_CONN_MAX_AGE must then stay 0. Size it per web process: concurrent requests it should serve.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
if DB_POOL_MAX_SIZE > 0:
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise environ.ImproperlyConfigured("DB_POOL_MAX_SIZE needs DB_CONN_MAX_AGE=0")
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": min(env.int("DB_POOL_MIN_SIZE", default=2), DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT_SECONDS", default=10.0),
        # After a database restart the pool reconnects on its own, but each failed attempt doubles
        # the wait before the next (1, 2, 4, 8 … s, for up to this long): after an outage of a
        # minute, requests would fail for another minute with the database back. Giving up after a
        # short while lets the next request start over at once (tests/faults measure it).
        "reconnect_timeout": env.float("DB_POOL_RECONNECT_TIMEOUT_SECONDS", default=10.0),
    }
    # Django's pool checks every connection on every borrow when health checks are on: one more
    # round trip per request, on requests that are often a single statement (a repeated alert).
    # Off: a connection the database dropped (a restart) fails the one request that finds it, which
    # answers 503 with Retry-After (DatabaseOutageMiddleware), and the pool discards it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False

# The hot paths keep their statements prepared on each connection: the per-request ones at once
# (opsplatform.core.prepared.fetchone_prepared), the many-row ones of a batch, an escalation tick or
# a delivery tick (bound_cursor) after five runs on the connection: parsing and planning them
# each time was a fifth of the database's CPU an Alertmanager batch (docs/benchmarks.md). Django's own
# cursors bind parameters on the client and never prepare. Behind a proxy that pools by transaction
# (PgBouncer before 1.21), set DB_PREPARED_STATEMENTS=false. A running process whose prepared
# statement loses a column to a migration errors on that statement until restarted, as deployments
# do after migrating.
if env.bool("DB_PREPARED_STATEMENTS", default=True):
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5

# The middleware of the ingestion endpoints (see opsplatform/asgi.py): key-authenticated requests
# need a request id, the security headers, host validation and Content-Length, the body cap and
# the 503 of a database outage, and nothing that loads a session.
INGEST_MIDDLEWARE = [
    "opsplatform.core.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "opsplatform.api.middleware.ApiBodyLimitMiddleware",
    "opsplatform.api.middleware.DatabaseOutageMiddleware",
    "django.middleware.common.CommonMiddleware",
]
# Ingestion requests a web process works on at once (its worker threads); more wait in a queue.
# A repeated trigger (most of a storm) spends its time waiting for its group's commit without a
# database connection of its own (incidents.ingest.group_commit, .lookup_cache), so the more requests
# a process has in hand, the larger the groups: on two cores, 16 served ~460 PagerDuty events/s
# where 4 served ~230 (docs/benchmarks.md). Requests that open incidents borrow pool connections.
INGEST_THREADS = env.int("INGEST_THREADS", default=16)
# Repeated triggers of concurrent requests share one statement and one commit (incidents.ingest.
# group_commit), at most this many; each request is answered after the commit that holds it.
INGEST_GROUP_COMMIT = env.bool("INGEST_GROUP_COMMIT", default=True)
# New incidents ask for an escalation tick when they commit (incidents.ingest.escalate_soon) instead
# of waiting for the next beat.
INGEST_ESCALATE_AT_ONCE = env.bool("INGEST_ESCALATE_AT_ONCE", default=True)
# How long a kicked escalation tick waits before it claims, gathering the incidents of those moments
# into one batch: each tick reads the policies, schedules and people it needs afresh (notifications.
# tasks). 0: it claims at once.
ESCALATION_GATHER_SECONDS = env.float("ESCALATION_GATHER_SECONDS", default=0.25)
# Past 2 s the wait is felt by every first page, and near the kick's 5 s mark it would let new
# incidents kick a second tick anyway (opsplatform.core.kicks).
if not 0 <= ESCALATION_GATHER_SECONDS <= 2:
    raise environ.ImproperlyConfigured("ESCALATION_GATHER_SECONDS must be from 0 to 2")
INGEST_GROUP_COMMIT_MAX = env.int("INGEST_GROUP_COMMIT_MAX", default=64)
# How long a web process gathers its integration counters before sending them to Redis in one round
# trip (incidents.ingest.counters): no request, and no group commit, waits for Redis to count.
INGEST_COUNTERS_PUSH_SECONDS = env.float("INGEST_COUNTERS_PUSH_SECONDS", default=0.1)
if not 0 < INGEST_COUNTERS_PUSH_SECONDS <= 5:
    raise environ.ImproperlyConfigured("INGEST_COUNTERS_PUSH_SECONDS must be over 0 and at most 5")
# How long a web process may answer from its copy of an integration key's lookup (or of the SLA
# policy new incidents get) at most; changes made through the models reach every process within
# 0.1 s anyway (incidents.ingest.lookup_cache). 0 turns the cache off.
INGEST_KEY_CACHE_SECONDS = env.float("INGEST_KEY_CACHE_SECONDS", default=30.0)
# REST API requests a web process works on at once (opsplatform.asgi: one thread hop each instead
# of Django's four or five); more wait in a queue. Keep it at or below DB_POOL_MAX_SIZE when set.
API_THREADS = env.int("API_THREADS", default=8)
