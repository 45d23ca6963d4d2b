"""Test settings: fast hashing; DATABASE_URL and CELERY_BROKER_URL still come from the environment.

Tests that start a real Celery worker share these with it through environment variables:
RIIM_TEST_DATABASE_NAME (the test database the pytest process created), CELERY_BROKER_URL (the
broker the test process publishes to: its private embedded broker when none is configured),
RIIM_TEST_BROKER_DIR (the folder of a filesystem broker, when one is set explicitly),
RIIM_TEST_REDIS_PREFIX (the Redis key prefix of the test process's queues) and
RIIM_TEST_SETTINGS_JSON (settings the test overrode, as a JSON object).
"""

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

from riim_site.env import env
from riim_site.settings.base import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# A worker process cannot see an in-memory database, so the SQLite test database is a file,
# one per pytest process so that several test runs in one checkout do not clobber each other.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"riim-test-{os.getpid()}.sqlite3")}
# Set for a worker started by the tests: connect straight to the test database.
if env("RIIM_TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env("RIIM_TEST_DATABASE_NAME")

# The embedded broker of the tests is private to the run: a `make run` worker must not take its tasks.
if CELERY_BROKER_URL == RIIM_BROKER_EMBEDDED_URL:
    _test_broker_file = Path(tempfile.gettempdir()) / f"riim-test-broker-{os.getpid()}.sqlite3"
    CELERY_BROKER_URL = f"riim-sqla+sqlite:///{_test_broker_file}"
    for _suffix in ("", "-wal", "-shm"):
        atexit.register(Path(f"{_test_broker_file}{_suffix}").unlink, missing_ok=True)
# Parallel test workers (pytest-xdist names each one in PYTEST_XDIST_WORKER) share the configured Redis:
# each puts its queues under a key prefix of its own, so one test worker's Celery process never takes the
# other's tasks. A Celery worker a test starts is told its publisher's prefix (RIIM_TEST_REDIS_PREFIX, empty
# for none), which also holds when the test pointed the app at another broker.
_redis_prefix = os.environ.get("RIIM_TEST_REDIS_PREFIX")  # "" (no prefix) is a value here
if _redis_prefix is None and env("PYTEST_XDIST_WORKER", default=""):
    _redis_prefix = f"riim-test-{env('PYTEST_XDIST_WORKER')}:"
if _redis_prefix and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = _redis_prefix
if CELERY_BROKER_URL.startswith("filesystem://"):
    if env("RIIM_TEST_BROKER_DIR", default=""):
        _test_broker_dir = Path(env("RIIM_TEST_BROKER_DIR"))
    else:
        _test_broker_dir = Path(tempfile.gettempdir()) / f"riim-test-broker-{os.getpid()}"
        atexit.register(shutil.rmtree, _test_broker_dir, ignore_errors=True)
    for _sub in ("queue", "processed", "control"):
        (_test_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(_test_broker_dir / "control"),
        "data_folder_in": str(_test_broker_dir / "queue"),
        "data_folder_out": str(_test_broker_dir / "queue"),
        "processed_folder": str(_test_broker_dir / "processed"),
        "store_processed": False,
    }

# Suites that upload hundreds of pictures are not throttled; throttle tests set realistic rates themselves.
RIIM_THROTTLE_RATES = {scope: None for scope in RIIM_THROTTLE_RATES}

# The cache is the test database's table, whatever broker CI configured: a test's entries roll back with
# its transaction, a worker or process a test starts shares it, and cache.clear() in a test never empties
# a Redis database that is also the broker.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": RIIM_CACHE_TABLE}}

# Settings a test overrode in its own process, repeated in the worker it starts.
globals().update(json.loads(env("RIIM_TEST_SETTINGS_JSON", default="{}")))
