"""Django settings, read from the environment in this one place; embedded defaults need no variable."""

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env.str("AIGC_DATA_DIR", default=str(Path.home() / ".aigc"))).expanduser().resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """A secret kept in the data directory, so the embedded stack needs no SECRET_KEY variable."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _embedded_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "aigc_platform.accounts",
    "aigc_platform.audit",
    "aigc_platform.core",
    "infrastructure.storage",
    "infrastructure.compute",
    "infrastructure.usage",
    "infrastructure.provenance",
    "models_layer.registry",
    "models_layer.openai_api",
    "models_layer.moderation",
    "tools_layer.datasets",
    "tools_layer.labeling",
    "tools_layer.training",
    "tools_layer.evaluation",
    "tools_layer.arena",
    "applications.marketing",
    "applications.courseware",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "aigc_platform.core.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "aigc_platform.urls"
ASGI_APPLICATION = "aigc_platform.asgi.application"
WSGI_APPLICATION = "aigc_platform.wsgi.application"

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
                "aigc_platform.core.navigation.navigation",
            ],
        },
    },
]

# The embedded database is SQLite in WAL mode: the web server and the worker processes write to it
# at once, so writers wait (timeout) instead of failing with "database is locked".
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif env.bool("DATABASE_POOL", default=False):
    # The ASGI web server runs each request in a thread of its own, so persistent per-thread
    # connections would pile up past PostgreSQL's limit; a pool shares a bounded set. `aigc up`
    # turns it on for the web process only (a pool must not be inherited across a worker's fork).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
        "timeout": 30,
    }
else:
    # Without a pool (Celery workers, the scheduler, commands) a process keeps its connection from
    # task to task for this many seconds: a new one per task costs a one-step job more than all its
    # queries do. The health check replaces a connection that broke meanwhile before it is used;
    # threads that a task starts close their own connection when they end.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The model backend, behind the sign-in limits (aigc_platform/accounts/backends.py).
AUTHENTICATION_BACKENDS = ["aigc_platform.accounts.backends.SignInLimitedBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# The interface speaks English and Simplified Chinese: the browser's choice (Accept-Language), or the
# one a person picks in the header (remembered per user). Catalogues live in locale/, compiled .mo
# files are committed so that a fresh machine needs no GNU gettext.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Without collectstatic (tests, a fresh checkout) WhiteNoise serves straight from the app folders.
WHITENOISE_USE_FINDERS = True

SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
if env.bool("AIGC_HTTPS", default=False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "aigc_platform.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "aigc_platform.core.pagination.PagePagination",
    "DEFAULT_THROTTLE_CLASSES": [
        "aigc_platform.accounts.throttling.UserRateThrottle",
        "aigc_platform.accounts.throttling.ApiKeyRateThrottle",
        "aigc_platform.accounts.throttling.AnonRateThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "aigc_platform.core.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AIGC Platform API",
    "DESCRIPTION": "Infrastructure, models, tools and applications of the AIGC Platform, over one job queue.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name (kind, format, status) get names of their own, not a hash.
    "ENUM_NAME_OVERRIDES": {
        "GeneratorKindEnum": "models_layer.registry.models.GeneratorKind",
        "DatasetKindEnum": "tools_layer.datasets.models.DatasetKind",
        "VersionFormatEnum": "models_layer.registry.models.VersionFormat",
        "JobStatusEnum": "infrastructure.compute.models.JobStatus",
        "ModerationPolicyKindEnum": "models_layer.moderation.models.PolicyKind",
        "ArtifactKindEnum": "infrastructure.provenance.models.ArtifactKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "infrastructure.compute.schema.add_job_events_path",
        "infrastructure.compute.schema.add_job_started_location",
        "aigc_platform.core.schema.add_error_responses",
    ],
}

# Rate limits (DRF rate strings: "N/second|minute|hour|day"), counted in the shared Redis cache.
AIGC_RATE_LIMITS = {
    "user": env.str("AIGC_RATE_LIMIT_USER", default="600/minute"),
    "api_key": env.str("AIGC_RATE_LIMIT_API_KEY", default="300/minute"),
    "anon": env.str("AIGC_RATE_LIMIT_ANON", default="120/minute"),
    "sign_in": env.str("AIGC_RATE_LIMIT_SIGN_IN", default="10/minute"),
}

# Sign-in, by any way in (/accounts/login/, /admin/login/, /api/v1/auth/token/), is limited per client
# address (the "sign_in" rate above) and locked after too many failures in a window: per account
# and per client address, for AIGC_SIGN_IN_LOCKOUT_SECONDS or until an admin clears it (admin
# action "Clear lockouts", or `aigc unlock-sign-in NAME|ADDRESS`). Both are audited.
AIGC_SIGN_IN_ACCOUNT_FAILURES = env.int("AIGC_SIGN_IN_ACCOUNT_FAILURES", default=10)
AIGC_SIGN_IN_CLIENT_FAILURES = env.int("AIGC_SIGN_IN_CLIENT_FAILURES", default=50)
AIGC_SIGN_IN_WINDOW_SECONDS = env.int("AIGC_SIGN_IN_WINDOW_SECONDS", default=15 * 60)
AIGC_SIGN_IN_LOCKOUT_SECONDS = env.int("AIGC_SIGN_IN_LOCKOUT_SECONDS", default=15 * 60)
# Proxies (addresses or networks, e.g. "10.0.0.0/8") whose X-Forwarded-For is believed
# (aigc_platform/core/clients.py); by default none, and the client is the connection's peer. Run
# uvicorn with --no-proxy-headers (as `aigc up` and deploy/ do), so that this is the only place
# the header is read.
AIGC_TRUSTED_PROXIES = env.list("AIGC_TRUSTED_PROXIES", default=[])

# Generation quotas: tokens generated per day (UTC midnight to midnight) per user, and per API key;
# 0 means none. Over it, generation requests get a 429 that says when the quota resets.
AIGC_QUOTA_TOKENS_PER_DAY = env.int("AIGC_QUOTA_TOKENS_PER_DAY", default=0)
AIGC_QUOTA_TOKENS_PER_DAY_API_KEY = env.int("AIGC_QUOTA_TOKENS_PER_DAY_API_KEY", default=0)

# Celery: Redis is the broker everywhere; `aigc up` starts an embedded one when this is unset.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# The cache (rate-limit counters) lives in another database of the broker's Redis, so clearing it
# never touches queued messages.
CACHE_URL = env.str("CACHE_URL", default=urlunsplit(urlsplit(CELERY_BROKER_URL)._replace(path="/1")))
CACHES = {
    "default": {
        "BACKEND": "aigc_platform.core.cache.SharedPoolRedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "aigc-cache",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None  # a job's result is in its Job row
# The disabled result backend holds no connection, so one instance serves every thread. Celery keeps
# a backend not marked thread-safe per thread, and builds it in each new thread by reading every
# installed package's entry points from disk (about 3 ms); under ASGI each request runs in a thread of
# its own, so every job submission paid that (bench/api.py: 80 submissions a second, 270 in one process).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if urlsplit(CELERY_BROKER_URL).scheme == "redis":
    # kombu's Redis transport with one client per channel rather than one per command (the module says why).
    CELERY_BROKER_TRANSPORT = "aigc_platform.core.broker:Transport"
# Celery's Django fixup closes the database connection after every task, so each task would open a
# new one (about 4 ms and a new server process, most of a short job's cost); with this it closes
# them only every this many tasks, and before each task close_stale_db_connections
# (aigc_platform/celery.py) applies CONN_MAX_AGE and the health check instead.
CELERY_DB_REUSE_MAX = env.int("AIGC_WORKER_DB_REUSE_MAX", default=1000)
# A message whose worker died unacknowledged comes back after this; the job lease below recovers
# the job much sooner, so this is only the broker's own safety net.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("AIGC_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BEAT_SCHEDULE = {
    "compute-sweep": {
        "task": "compute.sweep",
        "schedule": timedelta(seconds=env.float("AIGC_SWEEP_SECONDS", default=5.0)),
    },
}

# Jobs: a running job renews its lease every JOB_HEARTBEAT_SECONDS; one not renewed for
# JOB_LEASE_SECONDS lost its worker and is queued again, up to JOB_MAX_ATTEMPTS runs in all.
JOB_HEARTBEAT_SECONDS = env.float("AIGC_JOB_HEARTBEAT_SECONDS", default=2.0)
JOB_LEASE_SECONDS = env.float("AIGC_JOB_LEASE_SECONDS", default=20.0)
JOB_MAX_ATTEMPTS = env.int("AIGC_JOB_MAX_ATTEMPTS", default=3)
JOB_SOFT_TIME_LIMIT = env.int("AIGC_JOB_SOFT_TIME_LIMIT", default=6 * 3600)
# A running job's progress reports and log lines reach its Job row at most every JOB_WRITE_SECONDS (and
# at its end): a training step or a short job costs no database write. Its live events (reports, tokens)
# reach its stream together, at most JOB_EVENTS_BATCH_SECONDS after they were made: a burst of events,
# such as a fast GPU's tokens, costs one Redis round trip per batch instead of one per event.
JOB_WRITE_SECONDS = env.float("AIGC_JOB_WRITE_SECONDS", default=0.5)
JOB_EVENTS_BATCH_SECONDS = env.float("AIGC_JOB_EVENTS_BATCH_SECONDS", default=0.05)
# Workers: each heart-beats every WORKER_HEARTBEAT_SECONDS; one silent for WORKER_OFFLINE_SECONDS is offline.
WORKER_HEARTBEAT_SECONDS = env.float("AIGC_WORKER_HEARTBEAT_SECONDS", default=5.0)
WORKER_OFFLINE_SECONDS = env.float("AIGC_WORKER_OFFLINE_SECONDS", default=30.0)
JOB_EVENTS_TTL_SECONDS = env.int("AIGC_JOB_EVENTS_TTL_SECONDS", default=7 * 24 * 3600)

# Object storage: a local directory by default, any S3 server (MinIO, SeaweedFS) when S3_ENDPOINT is set.
STORAGE_BACKEND = env.str("AIGC_STORAGE_BACKEND", default="s3" if env.str("S3_ENDPOINT", default="") else "local")
STORAGE_LOCAL_ROOT = Path(env.str("AIGC_STORAGE_DIR", default=str(DATA_DIR / "objects")))
S3_ENDPOINT = env.str("S3_ENDPOINT", default="")
S3_ACCESS_KEY = env.str("S3_ACCESS_KEY", default="")
S3_SECRET_KEY = env.str("S3_SECRET_KEY", default="")
S3_BUCKET = env.str("S3_BUCKET", default="aigc")
S3_SECURE = env.bool("S3_SECURE", default=False)
S3_REGION = env.str("S3_REGION", default="us-east-1")
S3_PRESIGNED_URL_SECONDS = env.int("S3_PRESIGNED_URL_SECONDS", default=3600)
# Verified local copies of objects for loaders that need a path (model weights).
STORAGE_CACHE_DIR = Path(env.str("AIGC_STORAGE_CACHE_DIR", default=str(DATA_DIR / "cache")))
# A worker's local copies and the checkpoint folders made from them (MODEL_FOLDERS_DIR) are evicted,
# least recently used first and never while in use, once unused for LOCAL_CACHE_MAX_AGE_SECONDS or while
# together over LOCAL_CACHE_MAX_BYTES (0: no limit); one used within LOCAL_CACHE_MIN_IDLE_SECONDS stays.
LOCAL_CACHE_MAX_BYTES = env.int("AIGC_LOCAL_CACHE_MAX_BYTES", default=64 * 1024**3)
LOCAL_CACHE_MAX_AGE_SECONDS = env.int("AIGC_LOCAL_CACHE_MAX_AGE_SECONDS", default=14 * 24 * 3600)
LOCAL_CACHE_MIN_IDLE_SECONDS = env.int("AIGC_LOCAL_CACHE_MIN_IDLE_SECONDS", default=600)
# Limits in bytes; 0 means none. The quota counts the bytes of a user's files (system files count for no one).
STORAGE_MAX_UPLOAD_BYTES = env.int("AIGC_STORAGE_MAX_UPLOAD_BYTES", default=5 * 1024**3)
STORAGE_USER_QUOTA_BYTES = env.int("AIGC_STORAGE_USER_QUOTA_BYTES", default=20 * 1024**3)

# Datasets: limits that keep an import bounded (413 over the upload limit; ZIP bomb guards).
DATASET_UPLOAD_MAX_BYTES = env.int("AIGC_DATASET_UPLOAD_MAX_BYTES", default=1024 * 1024 * 1024)
DATASET_ZIP_MAX_ENTRIES = env.int("AIGC_DATASET_ZIP_MAX_ENTRIES", default=200_000)
DATASET_ZIP_MAX_TOTAL_BYTES = env.int("AIGC_DATASET_ZIP_MAX_TOTAL_BYTES", default=4 * 1024 * 1024 * 1024)
DATASET_ZIP_MAX_RATIO = env.float("AIGC_DATASET_ZIP_MAX_RATIO", default=100.0)
DATASET_IMAGE_MAX_BYTES = env.int("AIGC_DATASET_IMAGE_MAX_BYTES", default=32 * 1024 * 1024)
DATASET_IMAGE_MAX_PIXELS = env.int("AIGC_DATASET_IMAGE_MAX_PIXELS", default=40_000_000)
# Dataset preparation: the PII scan an import runs ("off", "report": count only, "redact": replace each
# finding by its type, "drop": leave out an item that holds any), and which registered text generators
# translate well enough for back-translation (slugs; none by default: the built-in model is English-only).
DATASETS_PII_SCAN = env.str("AIGC_DATASETS_PII_SCAN", default="off")
if DATASETS_PII_SCAN not in ("off", "report", "redact", "drop"):
    raise ValueError(f"AIGC_DATASETS_PII_SCAN must be off, report, redact or drop, not {DATASETS_PII_SCAN!r}.")
DATASETS_MULTILINGUAL_GENERATORS = env.list("AIGC_DATASETS_MULTILINGUAL_GENERATORS", default=[])

# Requests (aigc_platform/core/asgi_limits.py): a request is routed before its body is read, and its
# body is limited per route. Upload routes take the upload limit above plus room for the multipart
# framing (and authenticate their caller before reading a byte); every other route takes this many
# bytes, as many as Django lets a form or JSON body hold (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MiB).
# Over the limit is a 413: from Content-Length at once, or as a chunked body arrives. Headers over
# AIGC_MAX_HEADER_BYTES are a 431.
AIGC_MAX_REQUEST_BYTES = env.int("AIGC_MAX_REQUEST_BYTES", default=2_621_440)
AIGC_MAX_HEADER_BYTES = env.int("AIGC_MAX_HEADER_BYTES", default=32 * 1024)

# Inference (models_layer.runtime): generation jobs go to GENERATION_QUEUE, which a threads-pool
# worker serves, so concurrent requests for one model share its batching engine in one process.
GENERATION_QUEUE = env.str("AIGC_GENERATION_QUEUE", default="inference")
DEFAULT_TEXT_GENERATOR = env.str("AIGC_DEFAULT_TEXT_GENERATOR", default="smollm2-135m-instruct")
INFERENCE_DEVICE = env.str("AIGC_INFERENCE_DEVICE", default="auto")
INFERENCE_MAX_BATCH = env.int("AIGC_INFERENCE_MAX_BATCH", default=16)
INFERENCE_MAX_CONTEXT = env.int("AIGC_INFERENCE_MAX_CONTEXT", default=2048)
# Weights of the CPU decoder: "int4" (4-bit layers, 8-bit output projection), "int8", "none" (float32),
# or "auto": int4 where a timed matmul shows this CPU runs it faster than float32 (AVX-512 BF16 does;
# plain AVX2 may not). A GPU decodes in bfloat16 whatever this says.
INFERENCE_QUANTIZE = env.str("AIGC_INFERENCE_QUANTIZE", default="auto")
# Who decodes a GGUF file on a CPU (models_layer/runtime/llamacpp.py): "auto" is llama.cpp where
# llama-cpp-python is installed and runs on this CPU (it measured faster than the runtime's int4
# kernels with AVX2 and with AVX-512 BF16), the runtime otherwise; "llama.cpp" or "torch" force one.
INFERENCE_GGUF_ENGINE = env.str("AIGC_INFERENCE_GGUF_ENGINE", default="auto")
MODEL_CACHE_MAX_BYTES = env.int("AIGC_MODEL_CACHE_MAX_BYTES", default=4 * 1024**3)
# GGUF files converted (once) into checkpoint folders, and unpacked checkpoints, by content hash.
MODEL_FOLDERS_DIR = Path(env.str("AIGC_MODEL_FOLDERS_DIR", default=str(STORAGE_CACHE_DIR / "models")))
# Remote generators (backend openai-compatible): their API keys are encrypted at rest with the first of
# these keys (any strings; later ones still decrypt, for rotation), or with SECRET_KEY when none is set.
AIGC_ENCRYPTION_KEYS = env.list("AIGC_ENCRYPTION_KEYS", default=[])
# A remote engine's failed tries: retried this many times with backoff; this many failed tries in a row
# open its circuit breaker, which fails requests at once for the cool-down, then lets one try through.
REMOTE_GENERATOR_RETRIES = env.int("AIGC_REMOTE_GENERATOR_RETRIES", default=2)
REMOTE_GENERATOR_BREAKER_FAILURES = env.int("AIGC_REMOTE_GENERATOR_BREAKER_FAILURES", default=3)
REMOTE_GENERATOR_BREAKER_SECONDS = env.float("AIGC_REMOTE_GENERATOR_BREAKER_SECONDS", default=30.0)

# Provenance (infrastructure.provenance): generated images carry a C2PA manifest signed with this PEM
# certificate chain (signing certificate first) and its ES256 private key; without them, with a local CA
# and signing certificate the deployment makes once under the data directory (valid, but untrusted by
# readers until that CA is on their trust list). AIGC_C2PA=false leaves the XMP metadata alone.
AIGC_C2PA = env.bool("AIGC_C2PA", default=True)
AIGC_C2PA_CERT_CHAIN = env.str("AIGC_C2PA_CERT_CHAIN", default="")
AIGC_C2PA_PRIVATE_KEY = env.str("AIGC_C2PA_PRIVATE_KEY", default="")

# Training (tools_layer.training): torch threads of a CPU training job (0: the machine's cores
# divided by the concurrency of the worker that runs it).
TRAINING_CPU_THREADS = env.int("AIGC_TRAINING_CPU_THREADS", default=0)

# Applications (marketing copy, courseware). The text generator per language is a generator slug whose
# production version writes that language (or `slug:number` for one version); a language mapped to nothing is refused with a 400 that
# names this setting (the built-in SmolLM2 writes English only; register a multilingual one for zh).
APPLICATIONS_GENERATORS = {
    "en": env.str("AIGC_GENERATOR_EN", default=DEFAULT_TEXT_GENERATOR) or None,
    "zh": env.str("AIGC_GENERATOR_ZH", default="") or None,
}
# How many times one variant or one courseware section is written before it is given up on. Only an
# item that fails a check is written again, so a later try costs little (bench/applications.py, 20
# lessons: 157 of 160 items passed within 3 tries; the rest needed a fourth or fifth).
APPLICATIONS_MAX_ATTEMPTS = env.int("AIGC_APPLICATIONS_MAX_ATTEMPTS", default=5)
# Content checks (tools_layer/quality): the text generator whose perplexity judges fluency, per language
# (a transformers-backend slug; a language without one is not scored for fluency: the built-in model
# reads English only), and a generator that judges each item against a rubric (off when empty).
QUALITY_FLUENCY_REFERENCES = {
    "en": env.str("AIGC_FLUENCY_REFERENCE_EN", default=DEFAULT_TEXT_GENERATOR) or None,
    "zh": env.str("AIGC_FLUENCY_REFERENCE_ZH", default="") or None,
}
APPLICATIONS_JUDGE_GENERATOR = env.str("AIGC_JUDGE_GENERATOR", default="") or None
# The content filter on the applications' inputs and outputs: terms per language (comma-separated in
# the environment). Latin-script terms match whole words, case-insensitively; others match anywhere.
MODERATION_BLOCKED_TERMS = {
    "en": env.list(
        "AIGC_MODERATION_TERMS_EN",
        default=[
            "fuck",
            "fucking",
            "shit",
            "cunt",
            "motherfucker",
            "nigger",
            "faggot",
            "retard",
            "kill yourself",
            "white power",
            "heil hitler",
            "child porn",
            "make a bomb",
        ],
    ),
    "zh": env.list("AIGC_MODERATION_TERMS_ZH", default=["傻逼", "操你妈", "去死吧", "草泥马", "儿童色情", "制造炸弹"]),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
