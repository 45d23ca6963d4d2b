"""The shared cache on Redis, as a cache should be: when Redis is unreachable, a miss instead of an error.

Uploads, labels and logins go on while Redis restarts (the broker's work is resent from the
database, ``apps.delivery``); with Django's Redis cache as it is, every throttled request and login
would answer 500 meanwhile. Here a lost connection reads as a miss and a write as not stored: throttles
and login lockouts do not count during the outage, and the labeling queue orders without its shared
ranking until Redis is back.
"""
import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _tolerant(default):
    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                logger.warning("cache unreachable, %s answered as a miss: %s", method.__name__, exc)
                return default(*args, **kwargs) if callable(default) else default
        return call
    return wrap


class TolerantRedisCache(RedisCache):
    """Django's Redis cache, where an unreachable server is a miss (reads) or nothing stored (writes)."""

    get = _tolerant(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _tolerant(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _tolerant(False)(RedisCache.has_key)
    add = _tolerant(False)(RedisCache.add)
    set = _tolerant(None)(RedisCache.set)
    set_many = _tolerant(lambda data, *a, **k: list(data))(RedisCache.set_many)
    touch = _tolerant(False)(RedisCache.touch)
    delete = _tolerant(False)(RedisCache.delete)
    delete_many = _tolerant(None)(RedisCache.delete_many)
