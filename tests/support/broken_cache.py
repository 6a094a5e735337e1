"""A cache backend that is down: every call raises, as Django's Redis or Memcached backends do
when their server is unreachable. Use it through ``override_settings(CACHES=...)`` or the
``settings`` fixture: ``{"BACKEND": "tests.support.broken_cache.BrokenCache"}``."""

from django.core.cache.backends.base import BaseCache


class CacheDown(ConnectionError):
    """What every call of ``BrokenCache`` raises."""


class BrokenCache(BaseCache):
    calls = 0  # how many calls failed, over every instance (tests reset it)

    def __init__(self, location, params):
        super().__init__(params)

    def _down(self, *args, **kwargs):
        type(self).calls += 1
        raise CacheDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    add = get = set = touch = delete = has_key = clear = _down
    get_many = set_many = delete_many = incr = decr = get_or_set = _down

    def close(self, **kwargs):
        """Closing the connections of a server that is down is not an error."""
