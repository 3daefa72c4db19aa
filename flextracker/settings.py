"""flexTracker settings, all from the environment (django-environ).

Development reads `.env` (made from `.env.example` by `make`); real environment variables win.
Production: DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, PUBLIC_BASE_URL; see README.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public origin customers reach (used to build tracking links in API answers, emails, SMS).
# Unset, it follows the port `make run PORT=…` serves.
PUBLIC_BASE_URL = env(
    "PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env('PORT', default='8000')}"
).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "flextracker",  # before drf_spectacular: its `spectacular` command writes our YAML
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_q",
    "merchants",
    "inbound",
    "platforms",
    "notifications",
    "orders",
    "tracking",
    "ingest",
    "pages",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "flextracker.headers.SecurityHeadersMiddleware",
    "flextracker.api.envelope.ApiBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "flextracker.i18n.StaffLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out login into the lockout page
]

# Benchmarks mount their "floor" endpoint beside ours (bench/floor_urls.py); nothing else should.
ROOT_URLCONF = env("ROOT_URLCONF", default="flextracker.urls")
WSGI_APPLICATION = "flextracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write the same file: WAL lets readers go on during a write,
    # IMMEDIATE takes the write lock up front so two writers queue instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # DATABASE_URL names PgBouncer in transaction mode: consecutive transactions of one connection
    # may run on different server connections, so nothing may outlive a transaction there.
    if env.bool("DATABASE_POOLED", default=False):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None  # none prepared
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True  # .iterator() reads in chunks
# A streaming replica of the primary (docs/scaling.md): the read-only views read from it
# (flextracker/replica.py). Absent, everything reads from the primary.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": env.int("CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        # Tests read their own test database on the standby (CREATE DATABASE replicates).
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["flextracker.replica.ReplicaRouter"]
# After a write, how long a client's reads wait for the replica to replay it (then the primary
# answers them); past this the replica is taken to have caught up.
REPLICA_READ_YOUR_WRITES_SECONDS = env.int("REPLICA_READ_YOUR_WRITES_SECONDS", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate-limit counters, OAuth tokens); Redis in production -------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Email: SMTP by default, EMAIL_URL picks the server. In development without EMAIL_URL, each
# email is a .eml file in EMAIL_FILE_PATH and one line in the log (flextracker/mail.py).
if DEBUG and not env("EMAIL_URL", default=""):
    EMAIL_BACKEND = "flextracker.mail.EmailFileBackend"
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "emails"))
else:
    vars().update(env.email("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="flexTracker <no-reply@flextracker.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Customer email and SMS (notifications/channels): providers and per-recipient caps ---------
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds; smtplib waits forever without it
# django-anymail instead of SMTP: EMAIL_BACKEND=anymail.backends.<sendgrid|mailgun|postmark|
# amazon_ses>.EmailBackend (pip install "django-anymail[...]"), with that provider's key in
# ANYMAIL_SENDGRID_API_KEY, ANYMAIL_MAILGUN_API_KEY, ANYMAIL_POSTMARK_SERVER_TOKEN (SES: AWS_*).
if env("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = env("EMAIL_BACKEND")
ANYMAIL = {
    name: env(f"ANYMAIL_{name}")
    for name in ("SENDGRID_API_KEY", "MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN",
                 "POSTMARK_SERVER_TOKEN")
    if env(f"ANYMAIL_{name}", default="")
}  # fmt: skip
# A mailbox that really processes "unsubscribe" mails, if any: List-Unsubscribe then offers
# mailto: beside the one-click https link (blank: https only, never a dead mailbox).
UNSUBSCRIBE_MAILTO = env("UNSUBSCRIBE_MAILTO", default="")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")  # E.164, e.g. +15125550100
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="https://api.twilio.com").rstrip("/")
EMAIL_DAILY_CAP_PER_RECIPIENT = env.int("EMAIL_DAILY_CAP_PER_RECIPIENT", default=20)
SMS_DAILY_CAP_PER_RECIPIENT = env.int("SMS_DAILY_CAP_PER_RECIPIENT", default=5)
# A customer message about a package of a split order waits this long, so that another package of
# the same order reaching the same status meanwhile is told in the same message (0: no waiting).
CUSTOMER_MESSAGE_MERGE_SECONDS = env.int("CUSTOMER_MESSAGE_MERGE_SECONDS", default=120)

# --- Background work: django-q2 on the ORM broker (RELIABILITY.md) ------------------------------
# The queue row commits with the write that caused it, and a task whose worker died is delivered
# again after `retry` seconds, which must exceed `timeout` so a slow task never runs twice.
Q_CLUSTER = {
    "name": "flextracker",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=60),
    "retry": env.int("Q_RETRY", default=180),
    "queue_limit": 4,
    "catch_up": False,
    "ack_failures": True,  # business retries live in our own tables, not in redelivery
    "poll": 1,
}
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY must exceed Q_TIMEOUT, or a running task is run twice.")
# A task that works in rounds (polling, sending, draining the queue) starts none after this, so
# it ends within `timeout`: one stopped at the timeout is acknowledged as failed, never retried.
TASK_ROUND_SECONDS = Q_CLUSTER["timeout"] * 3 // 4
# A claimed outbox row or shipment is leased this long: a worker that dies holding it loses
# nothing, as another claims it once the lease ends (tests/test_worker_kill.py lowers both).
SEND_LEASE_SECONDS = env.int("SEND_LEASE_SECONDS", default=5 * 60)
POLL_LEASE_SECONDS = env.int("POLL_LEASE_SECONDS", default=10 * 60)

# Merchant-configured addresses we connect to (webhooks, carrier base URLs, SFTP, queues) must be
# public (flextracker/urlguard.py). With DEBUG on only, these hosts may be loopback or private, on
# any port, over http ("*": every host); production ignores the list.
OUTBOUND_URL_ALLOWED_HOSTS = env.list("OUTBOUND_URL_ALLOWED_HOSTS", default=["*"])

# --- Emails in (ingest/channels/email.py): each email source's address is <token>@this domain,
# whose MX points at `manage.py receive_email`; larger emails are refused at DATA.
INBOUND_EMAIL_DOMAIN = env("INBOUND_EMAIL_DOMAIN", default="in.flextracker.local")
INBOUND_EMAIL_MAX_BYTES = env.int("INBOUND_EMAIL_MAX_BYTES", default=10 * 1024 * 1024)

# --- Carriers (TRACKING.md "Configuration"): unset credentials mean "not tracked" ---------------
CARRIER_CREDENTIALS = {
    "ups": {"client_id": env("UPS_CLIENT_ID", default=""),
            "secret": env("UPS_CLIENT_SECRET", default=""),
            "base_url": env("UPS_API_BASE_URL", default="https://onlinetools.ups.com")},
    "fedex": {"client_id": env("FEDEX_CLIENT_ID", default=""),
              "secret": env("FEDEX_CLIENT_SECRET", default=""),
              "base_url": env("FEDEX_API_BASE_URL", default="https://apis.fedex.com")},
    "usps": {"client_id": env("USPS_CLIENT_ID", default=""),
             "secret": env("USPS_CLIENT_SECRET", default=""),
             "base_url": env("USPS_API_BASE_URL", default="https://apis.usps.com")},
    "dhl": {"client_id": "", "secret": env("DHL_API_KEY", default=""),
            "base_url": env("DHL_API_BASE_URL", default="https://api-eu.dhl.com")},
    "canada_post": {"client_id": env("CANADA_POST_USERNAME", default=""),
                    "secret": env("CANADA_POST_PASSWORD", default=""),
                    "base_url": env("CANADA_POST_API_BASE_URL", default="https://soa-gw.canadapost.ca")},
}  # fmt: skip
# Platform accounts' budgets (a merchant's own account has its own, set in the console).
# USPS allows about 60 requests an hour by default; DHL's starter tier 250 a day.
CARRIER_REQUESTS_PER_MINUTE = {
    "ups": env.int("UPS_REQUESTS_PER_MINUTE", default=120),
    "fedex": env.int("FEDEX_REQUESTS_PER_MINUTE", default=120),
    "usps": env.int("USPS_REQUESTS_PER_MINUTE", default=1),
    "dhl": env.int("DHL_REQUESTS_PER_MINUTE", default=1),
    "canada_post": env.int("CANADA_POST_REQUESTS_PER_MINUTE", default=60),
}
DELAY_GRACE_HOURS = env.int("DELAY_GRACE_HOURS", default=6)  # after the estimated day ends
DELAY_NO_SCAN_HOURS = env.int("DELAY_NO_SCAN_HOURS", default=72)  # silence while in transit
# Customer pages, per visitor IP: all views, and views of unknown orders (enumeration).
PAGE_VIEWS_PER_MINUTE = env.int("PAGE_VIEWS_PER_MINUTE", default=60)
# An unchanged order page is served from the cache (pages/page_cache.py); a change to what it shows
# makes a new key at once, so this bounds only how long a release's old look can be served. 0: off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=600)
PAGE_MISSES_PER_MINUTE = env.int("PAGE_MISSES_PER_MINUTE", default=10)
# A visitor's "Check for updates" presses (each shipment is asked at most every 5 minutes anyway).
PAGE_CHECKS_PER_MINUTE = env.int("PAGE_CHECKS_PER_MINUTE", default=6)
# Predicted delivery (tracking/predictions.py): no range from fewer past deliveries on a lane.
PREDICTION_MIN_DELIVERIES = env.int("PREDICTION_MIN_DELIVERIES", default=20)
POLL_CONCURRENCY = env.int("POLL_CONCURRENCY", default=16)  # carrier calls in flight per worker
# Outbox messages in flight per worker (one recipient's still in order): notifications/sending.py.
NOTIFICATIONS_SEND_THREADS = env.int("NOTIFICATIONS_SEND_THREADS", default=32)
SANDBOX_MINUTES_PER_STEP = env.float("SANDBOX_MINUTES_PER_STEP", default=10.0)
# Carriers and aggregators that push updates to us sign them with these (tracking/push.py).
EASYPOST_WEBHOOK_SECRET = env("EASYPOST_WEBHOOK_SECRET", default="")
AFTERSHIP_WEBHOOK_SECRET = env("AFTERSHIP_WEBHOOK_SECRET", default="")
SHIPPO_WEBHOOK_SECRET = env("SHIPPO_WEBHOOK_SECRET", default="")
# The platform's aggregator accounts, and the carriers every merchant's shipments are registered
# with them for ("usps=shippo,fedex=easypost"); a merchant's own route overrides (docs/channels.md).
AGGREGATOR_API_KEYS = {
    "easypost": env("EASYPOST_API_KEY", default=""),
    "aftership": env("AFTERSHIP_API_KEY", default=""),
    "shippo": env("SHIPPO_API_KEY", default=""),
}
AGGREGATOR_ROUTES = env.dict("AGGREGATOR_ROUTES", default={})
AGGREGATOR_BASE_URLS = {
    "easypost": env("EASYPOST_API_BASE_URL", default="https://api.easypost.com"),
    "aftership": env("AFTERSHIP_API_BASE_URL", default="https://api.aftership.com"),
    "shippo": env("SHIPPO_API_BASE_URL", default="https://api.goshippo.com"),
}

# Queues we create for merchants without one, in the platform's AWS account (boto3's default
# credential chain): `<prefix>-<merchant id>-orders` and `-dlq` (ingest/channels/sqs_create.py).
FLEXTRACKER_SQS_REGION = env(
    "FLEXTRACKER_SQS_REGION", default=env("AWS_DEFAULT_REGION", default="us-east-1")
)
FLEXTRACKER_SQS_PREFIX = env("FLEXTRACKER_SQS_PREFIX", default="flextracker")
FLEXTRACKER_SQS_MAX_RECEIVE_COUNT = env.int("FLEXTRACKER_SQS_MAX_RECEIVE_COUNT", default=5)
# The role our consumer runs as, named in the queue policy; blank: our account (its IAM decides).
FLEXTRACKER_SQS_CONSUMER_ARN = env("FLEXTRACKER_SQS_CONSUMER_ARN", default="")

# --- Security: safe production defaults, each overridable from the environment ---------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that always sets this header itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Logins (the console signs in through the admin's form) lock out after repeated failures
# (RELIABILITY.md): per username (guesses spread over many addresses) and per address (one
# password sprayed over many usernames). A success resets both; staff lift a lockout in the admin.
AUTHENTICATION_BACKENDS = [
    "flextracker.logins.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "flextracker.logins.lockout_page"
AXES_VERBOSE = False  # no banner on every manage.py command

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalization ------------------------------------------------------------------
LANGUAGE_CODE = "en"
# The customer pages, emails, SMS and PDF speak all of these; staff screens are complete in the
# first four. Arabic is right-to-left (the page mirrors).
LANGUAGES = [
    ("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch"),
    ("it", "Italiano"), ("pt", "Português"), ("nl", "Nederlands"), ("pl", "Polski"),
    ("sv", "Svenska"), ("ja", "日本語"), ("zh-hans", "简体中文"), ("ar", "العربية"),
]  # fmt: skip
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise) --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["merchants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["merchants.authentication.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env("API_RATE_LIMIT", default="1000/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "flextracker.api.envelope.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": False,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # API.md: bodies over 1 MiB are refused (413)
SPECTACULAR_SETTINGS = {
    "TITLE": "flexTracker eCommerce Notification API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "flextracker.openapi.document_path_parameters",
    ],
    # Swagger UI from drf-spectacular-sidecar's static files: pinned, offline, no CDN in the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Named choices where drf-spectacular would otherwise guess (and warn): seed 002's statuses;
    # two sets of choices for fields named `events` (every style's, seed 002's alone).
    "ENUM_NAME_OVERRIDES": {
        "Seed002StatusEnum": "carriers.seed002.SEED002_STATUSES",
        "EventsEnum": "notifications.models.ANY_WEBHOOK_EVENT_TYPES",
        "SeedWebhookEventsEnum": "notifications.models.SeedWebhookEventType.values",
        "ReturnStatusEnum": "orders.models.ReturnStatus.values",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
