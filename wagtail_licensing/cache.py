"""The license-state version, as every process sees it through Django's cache.

Operations bump ``LicensingState.version`` in the database and publish it here after commit;
per-user decisions are cached under keys that include the version, so a change takes effect on
the next request in every process that shares the cache.
"""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.core.cache import BaseCache, caches

from .conf import licensing_settings
from .models import LicensingState

VERSION_KEY = "wagtail_licensing:state-version"


def get_cache() -> BaseCache:
    return caches[licensing_settings.CACHE_ALIAS]


def publish_version(version: int) -> None:
    get_cache().set(VERSION_KEY, version, None)


def current_version() -> int:
    """The state version: from the cache once warm, from the database on a miss."""
    cache = get_cache()
    version = cache.get(VERSION_KEY)
    if version is None:
        version = LicensingState.get().version
        # add(), not set(): never overwrite a newer version published meanwhile.
        cache.add(VERSION_KEY, version, None)
    return version


def slot_key(token: str) -> str:
    """Where a session's confirmed concurrent slot is remembered between database checks."""
    return f"wagtail_licensing:slot:{token}"


def released_key(token: str) -> str:
    return f"wagtail_licensing:released:{token}"


def mark_released(tokens: Collection[str]) -> None:
    """Remember that a license manager released these sessions' slots, so that they are signed
    out rather than silently given another slot."""
    cache = get_cache()
    cache.set_many({released_key(token): True for token in tokens},
                   settings.SESSION_COOKIE_AGE)
    cache.delete_many([slot_key(token) for token in tokens])
