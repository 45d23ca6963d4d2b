"""Settings shared by every environment; differences come from environment variables."""
import mimetypes
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from kombu import Queue

from riim_site.env import BASE_DIR, env

SECRET_KEY = env("SECRET_KEY", default="insecure-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "apps.common",
    "apps.accounts",
    "apps.projects",
    "apps.uploads",
    "apps.labeling",
    "apps.history",
    "apps.training",
    "apps.embeddings",
    "apps.inference",
    "apps.lab",
    "apps.delivery",
    "apps.gradebook",
    "apps.sharing",
    "apps.scratch",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below)
    "apps.common.security_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "apps.common.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.common.view_errors.ApplicationErrorMiddleware",  # services' refusals as 4xx pages
    "apps.common.database_errors.DatabaseUnavailableMiddleware",  # database down: 503, not 500
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# No inline code anywhere: scripts, handlers and styles live in static/ (an injected <script> or
# on*= attribute never runs). ONNX Runtime Web compiles WebAssembly, which needs 'wasm-unsafe-eval'
# (not 'unsafe-eval'); blob: workers and images are what onnxruntime-web, TF.js and the canvas use.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", "blob:", "data:"],
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
# Permissions-Policy of every response (apps.common.security_headers): all denied; a view that
# needs one (the webcam pages: camera) opts in with @permissions_policy(camera="self").
RIIM_PERMISSIONS_POLICY = {
    "camera": "",
    "microphone": "",
    "geolocation": "",
    "payment": "",
    "usb": "",
    "serial": "",
    "bluetooth": "",
}

ROOT_URLCONF = "riim_site.urls"
WSGI_APPLICATION = "riim_site.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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
                "apps.accounts.context_processors.roles",
            ],
        },
    },
]

# Runtime state (SQLite file, embedded broker queue) lives in var/, never in git. Every process creates the
# runtime folders when it starts, or refuses in one line naming the folder (riim_site.runtime_dirs).
VAR_DIR = Path(env("RIIM_VAR_DIR", default=str(BASE_DIR / "var")))


def _database_config():
    config = env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'riim.sqlite3'}")
    # Reusing a connection across requests spares opening it (and SQLite's PRAGMAs) on each one,
    # about a millisecond per API call; the health check drops connections the server closed.
    config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server read while a worker writes progress; the busy
        # timeout makes concurrent writers wait instead of failing with "database is locked".
        config.setdefault("OPTIONS", {}).update(
            {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
            }
        )
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Django's model backend, refusing a locked username before its password is checked (apps.accounts.lockout).
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.LoginLockoutBackend"]
# Failed logins count for this many seconds. A username is locked at this many failures from one address,
# or at the second number from anywhere; never an address alone, since a whole class shares one.
RIIM_LOGIN_LOCKOUT_WINDOW = env.int("RIIM_LOGIN_LOCKOUT_WINDOW", default=15 * 60)
RIIM_LOGIN_LOCKOUT_FAILURES = env.int("RIIM_LOGIN_LOCKOUT_FAILURES", default=20)
RIIM_LOGIN_LOCKOUT_USER_FAILURES = env.int("RIIM_LOGIN_LOCKOUT_USER_FAILURES", default=50)
# API tokens expire this long after they were issued (a school week); POST /api/v1/auth/logout/ revokes one.
RIIM_TOKEN_MAX_AGE = env.int("RIIM_TOKEN_MAX_AGE", default=7 * 24 * 3600)

LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Madrid")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Front-end packages come from npm (package.json) and are served offline under static/vendor/.
_NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", _NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", _NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/chart.js", _NODE_MODULES / "chart.js" / "dist"),
]
# ONNX Runtime Web, TF.js and Teachable Machine's library: only the builds the pages load (riim_site/vendor.py).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "riim_site.vendor.VendorFilesFinder",
]
# The development server guesses types with mimetypes; browsers only stream-compile
# WebAssembly served as application/wasm, and ES modules need a JavaScript type.
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# Object storage (S3-compatible) is switched on by env vars when web and workers
# run on several machines; the default keeps files on the local disk.
if env("AWS_STORAGE_BUCKET_NAME", default=""):
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
    AWS_QUERYSTRING_AUTH = True
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads
RIIM_UPLOAD_MAX_BYTES = env.int("RIIM_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# About 40 megapixels: enough for any phone photo, small enough to refuse decompression bombs.
RIIM_UPLOAD_MAX_PIXELS = env.int("RIIM_UPLOAD_MAX_PIXELS", default=40_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = RIIM_UPLOAD_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Stored photos are downscaled to this long side: plenty for a classroom, and bounded in memory.
RIIM_UPLOAD_MAX_SIDE = env.int("RIIM_UPLOAD_MAX_SIDE", default=2048)
# Pixels decoded at full size: PNG, WebP, GIF and BMP cannot be decoded at a reduced scale like JPEG
# (16 Mpx is 64 MB as RGBA).
RIIM_UPLOAD_MAX_DECODE_PIXELS = env.int("RIIM_UPLOAD_MAX_DECODE_PIXELS", default=16_000_000)
# Image decodes at once per process: parallel hostile uploads wait instead of adding up in memory.
RIIM_UPLOAD_DECODE_CONCURRENCY = env.int("RIIM_UPLOAD_DECODE_CONCURRENCY", default=2)
# Imports of many photos at once (apps.uploads.imports): the zip (or the loose files together), the
# files it may hold, their uncompressed total, and the largest compression ratio an entry over 1 MB may
# have (photos barely compress; a higher ratio is a zip bomb).
RIIM_IMPORT_MAX_BYTES = env.int("RIIM_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
RIIM_IMPORT_MAX_ENTRIES = env.int("RIIM_IMPORT_MAX_ENTRIES", default=5000)
RIIM_IMPORT_MAX_TOTAL_BYTES = env.int("RIIM_IMPORT_MAX_TOTAL_BYTES", default=1024 * 1024 * 1024)
RIIM_IMPORT_MAX_RATIO = env.int("RIIM_IMPORT_MAX_RATIO", default=20)
# The first handler refuses a request body over its limit while it arrives (apps.uploads.limits).
FILE_UPLOAD_HANDLERS = [
    "apps.uploads.limits.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Pretrained weights are only ever opened by file name inside this folder.
RIIM_WEIGHTS_DIR = env("RIIM_WEIGHTS_DIR", default=str(BASE_DIR / "var" / "weights"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "apps.accounts.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "apps.common.schema.RiimAutoSchema",  # declares the 4xx error bodies too
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Views with a throttle_scope get its rate per user (apps.accounts.throttles).
    "DEFAULT_THROTTLE_CLASSES": ["apps.accounts.throttles.UserScopedRateThrottle"],
}
# Requests per user (the token endpoint: per typed username and address), read at request time. Rates
# leave room for a class: each student has their own budget, and a webcam sends a few pictures a second.
# An empty value switches a rate off.
RIIM_THROTTLE_RATES = {
    "auth_token": env("RIIM_THROTTLE_AUTH_TOKEN", default="20/min") or None,
    "uploads": env("RIIM_THROTTLE_UPLOADS", default="120/min") or None,
    "analysis": env("RIIM_THROTTLE_ANALYSIS", default="300/min") or None,
    # Join-code attempts (the join page): per user, and per address with room for a class joining at once.
    "join_code": env("RIIM_THROTTLE_JOIN_CODE", default="10/min") or None,
    "join_code_address": env("RIIM_THROTTLE_JOIN_CODE_ADDRESS", default="100/min") or None,
    # Files of public model links (apps.sharing), per address: a class behind one school address loads
    # three files each, and again after every activation.
    "model_link": env("RIIM_THROTTLE_MODEL_LINK", default="1200/min") or None,
}
# A student's Scratch key (apps.scratch) works this many days, unless revoked or the password changes.
RIIM_SCRATCH_KEY_DAYS = env.int("RIIM_SCRATCH_KEY_DAYS", default=30)
SPECTACULAR_SETTINGS = {
    "TITLE": "RIIM API",
    "DESCRIPTION": "Reconocimiento Inteligente de Imágenes",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Several models have a "status": each choice set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "TrainingRunStatusEnum": "apps.training.models.TrainingRun.Status",
        "ModelVersionStatusEnum": "apps.training.models.ModelVersion.Status",
        # A lab experiment and a photo import share one set: queued, running, succeeded, failed.
        "JobStatusEnum": "apps.common.models.JobStatus",
        "TagKindEnum": "apps.inference.serializers.TAG_KINDS",
        "LabExperimentKindEnum": "apps.lab.models.LabExperiment.Kind",
    },
}

# Celery. Without CELERY_BROKER_URL / REDIS_URL the broker is riim_site.broker (kombu's SQLAlchemy
# transport, one transaction per message) in var/broker.sqlite3: real worker processes, no service to run.
RIIM_BROKER_EMBEDDED_URL = f"riim-sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default=RIIM_BROKER_EMBEDDED_URL))
# Seconds a fetched but unacknowledged message stays with its worker before it is delivered again
# (Redis and the embedded broker): a short task whose worker was killed comes back within minutes;
# training tasks are acknowledged on receipt, so a long run is never delivered a second time.
RIIM_BROKER_VISIBILITY_TIMEOUT = env.int("RIIM_BROKER_VISIBILITY_TIMEOUT", default=600)
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "riim-sqla+")):  # others reject the option
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = RIIM_BROKER_VISIBILITY_TIMEOUT
# kombu's filesystem transport still works when set explicitly, but it can hand a consumer a message
# file before the producer finished writing it (a lost message and a dead worker): not the default.
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(_broker_dir / "control"),  # broadcast (pidbox) messages; default is ./control
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("training"), Queue("quick"), Queue("lab"))
CELERY_TASK_ROUTES = {
    # Exact names win over patterns: the sweeper must run even while a training occupies its queue.
    "apps.training.tasks.training_runs_sweep_stale_task": {"queue": "default"},
    "apps.training.tasks.quick_retrain_check_task": {"queue": "default"},
    "apps.training.tasks.quick_run_execute_task": {"queue": "quick"},
    "apps.labeling.tasks.labeling_queue_refresh_task": {"queue": "quick"},
    "apps.delivery.tasks.*": {"queue": "default"},
    "apps.embeddings.tasks.*": {"queue": "default"},
    "apps.training.tasks.*": {"queue": "training"},
    "apps.lab.tasks.*": {"queue": "lab"},
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Delivery: a task is acknowledged after it ran, so one whose worker is killed mid-task runs again
# (harmless twice: each task checks its row's status or redoes the same work; training overrides this).
CELERY_TASK_ACKS_LATE = True
# A pool process killed by a signal (OOM killer, SIGKILL) gives its task back instead of acknowledging it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker reserves only the tasks it is running: none waits hidden behind a long one past the timeout.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis only (Celery ignores it with a warning elsewhere): fetch when a pool process is free, so a
# queued training never waits inside a busy training worker until the visibility timeout.
CELERY_WORKER_DISABLE_PREFETCH = CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
# Beat's record of when each periodic task last ran, beside the other runtime state.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "training-runs-sweep-stale": {"task": "apps.training.tasks.training_runs_sweep_stale_task", "schedule": 30.0},
    "pending-work-resend": {"task": "apps.delivery.tasks.pending_work_resend_task", "schedule": 60.0},
    # Projects past their course end + retention period lose their photos (the gradebook stays).
    "gradebook-retention-sweep": {"task": "apps.gradebook.tasks.retention_sweep_task", "schedule": 3600.0},
}
# Work whose row still says pending this long after it was created is sent to the broker again
# (its first enqueue may have failed), then again after twice as long each time, at most this many times.
RIIM_PENDING_RESEND_AFTER = env.int("RIIM_PENDING_RESEND_AFTER", default=120)
RIIM_PENDING_RESEND_MAX = env.int("RIIM_PENDING_RESEND_MAX", default=8)

# The cache every process shares (web workers and Celery workers): the labeling queue's ranking is built
# once in the background and read by every request, and throttles and login lockouts count across
# processes. CACHE_URL (django-environ's syntax: redis://..., dbcache://table, locmemcache://) picks it;
# without it, Redis when the broker is Redis, else the database's cache table (`make migrate` creates it),
# so the embedded default needs no service and every process on the machine sees one cache.
RIIM_CACHE_TABLE = "riim_cache"


def _cache_config():
    if env("CACHE_URL", default=""):
        return env.cache("CACHE_URL")
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # An unreachable Redis is a miss, not an error (riim_site.cache), found out within a second.
        return {"BACKEND": "riim_site.cache.TolerantRedisCache", "LOCATION": CELERY_BROKER_URL,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
    # Throttle counters and lockouts come and go: room for a few classes' worth of them.
    return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": RIIM_CACHE_TABLE,
            "OPTIONS": {"MAX_ENTRIES": 5000}}


CACHES = {"default": _cache_config()}
# The labeling queue's ranking (the quick classifier on the embeddings, the diverse strategy's k-means)
# is rebuilt in the background at most once per this many seconds per project; requests never fit.
RIIM_QUEUE_REFRESH_SECONDS = env.float("RIIM_QUEUE_REFRESH_SECONDS", default=5.0)
# Each process keeps its projects' embedding matrices (apps.labeling.embedding_store), least recently
# used dropped beyond this many MB: 10,000 photos of 1,280 values (and their mirrors) are about 100 MB.
RIIM_EMBEDDINGS_MEMORY_MB = env.int("RIIM_EMBEDDINGS_MEMORY_MB", default=256)

# Training and the model registry.
RIIM_MODELS_PREFIX = "models"  # storage folder of published model versions
# Local copies of published models for ONNX Runtime (object storage is downloaded once per version).
RIIM_MODEL_CACHE_DIR = Path(env("RIIM_MODEL_CACHE_DIR", default=str(VAR_DIR / "model-cache")))
# Served model file: fp32 (model.onnx) or int8 (model.int8.onnx); threads per ONNX session so
# several web workers on one machine do not oversubscribe its cores.
RIIM_INFERENCE_VARIANT = env("RIIM_INFERENCE_VARIANT", default="fp32")
RIIM_INFERENCE_THREADS = env.int("RIIM_INFERENCE_THREADS", default=1)
RIIM_MODEL_IMPORT_MAX_BYTES = env.int("RIIM_MODEL_IMPORT_MAX_BYTES", default=300 * 1024 * 1024)
RIIM_TRAINING_MIN_IMAGES_PER_CLASS = env.int("RIIM_TRAINING_MIN_IMAGES_PER_CLASS", default=5)
# The automatic quick retrain: after this many new labels at once, or this many seconds without a new
# label; superseded automatic versions beyond this many are deleted with their files.
RIIM_QUICK_RETRAIN_LABELS = env.int("RIIM_QUICK_RETRAIN_LABELS", default=20)
RIIM_QUICK_RETRAIN_QUIET_SECONDS = env.int("RIIM_QUICK_RETRAIN_QUIET_SECONDS", default=60)
RIIM_AUTOMATIC_VERSIONS_KEPT = env.int("RIIM_AUTOMATIC_VERSIONS_KEPT", default=3)
# A running run whose worker has not reported for this long is marked failed by the sweeper.
RIIM_TRAINING_HEARTBEAT_TIMEOUT = env.int("RIIM_TRAINING_HEARTBEAT_TIMEOUT", default=180)
# Every worker writes the queues it consumes to the shared cache this often (apps.training.workers); a run
# still queued this many seconds after it was asked for, on a queue no worker wrote, says so (page, API,
# `train --wait`) instead of waiting forever.
RIIM_QUEUE_HEARTBEAT_SECONDS = env.float("RIIM_QUEUE_HEARTBEAT_SECONDS", default=10.0)
RIIM_WORKER_PICKUP_SECONDS = env.float("RIIM_WORKER_PICKUP_SECONDS", default=60.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "apps.common.api_errors.exception_handler"
