"""The shared cache each environment gets: Redis with a Redis broker, the database's cache table otherwise."""

import json
import os
import socket
import subprocess
import sys

from tests.platform.worker import REPO_ROOT

PRINT_CACHE = "import json; from django.conf import settings as s; print(json.dumps(s.CACHES['default']))"
# What a process of the embedded default does with its cache once `make migrate` ran.
USE_CACHE = ("import django; django.setup(); from django.core.cache import cache; cache.set('k', [1, 2]); "
             "print(cache.get('k'))")


def _clean_env(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "DATABASE_URL")}
    clean.update(DJANGO_SETTINGS_MODULE="riim_site.settings.local", RIIM_VAR_DIR=str(tmp_path), **env)
    return clean


def _cache_with(tmp_path, **env):
    out = subprocess.run([sys.executable, "-c", PRINT_CACHE], cwd=REPO_ROOT, env=_clean_env(tmp_path, **env),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_default_is_the_database_cache(tmp_path):
    """Without Redis every process of `make run` shares the database's cache table."""
    assert _cache_with(tmp_path)["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert _cache_with(tmp_path)["LOCATION"] == "riim_cache"


def test_a_redis_broker_gives_a_redis_cache(tmp_path):
    """The broker's Redis also holds the cache (Django keys are prefixed and never collide with Celery's)."""
    for variable in ("CELERY_BROKER_URL", "REDIS_URL"):
        conf = _cache_with(tmp_path, **{variable: "redis://127.0.0.1:6379/3"})
        assert conf["BACKEND"] == "riim_site.cache.TolerantRedisCache" and conf["LOCATION"] == "redis://127.0.0.1:6379/3"


def test_cache_url_wins(tmp_path):
    conf = _cache_with(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/3", CACHE_URL="dbcache://other_table")
    assert conf["BACKEND"] == "django.core.cache.backends.db.DatabaseCache" and conf["LOCATION"] == "other_table"


def test_make_migrate_creates_the_cache_table_of_the_embedded_default(tmp_path):
    """A fresh var folder: `make migrate` leaves a SQLite database whose cache works, with no service running."""
    env = _clean_env(tmp_path)
    subprocess.run(["make", "-s", "-o", "python-packages", "migrate"], cwd=REPO_ROOT, env=env, check=True,
                   capture_output=True, timeout=600)
    out = subprocess.run([sys.executable, "-c", USE_CACHE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[1, 2]"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_an_unreachable_redis_is_a_miss_not_an_error():
    """Reads miss and writes store nothing while Redis is down; nothing raises (uploads and logins go on)."""
    from riim_site.cache import TolerantRedisCache

    cache = TolerantRedisCache(f"redis://127.0.0.1:{_closed_port()}/0", {"OPTIONS": {"socket_connect_timeout": 1}})
    assert cache.get("k") is None and cache.get("k", "fallback") == "fallback"
    assert cache.add("k", 1) is False and cache.get_many(["a", "b"]) == {} and cache.has_key("k") is False
    cache.set("k", 1)
    cache.delete("k")
    assert cache.set_many({"a": 1}) == ["a"]
