"""The licensing state as every process sees it, and the one way the app reaches its cache.

Two numbers on ``LicensingState`` say when cached decisions must be worked out again: the
``version``, bumped by every licensing action, and the ``access_epoch``, bumped when groups,
permissions or accounts change (``enforcement.snapshot``). Both reach other processes two ways:

- published to the cache after commit, so that processes sharing it (Redis, Memcached, the
  database cache) apply a change on their next request;
- re-read from the database by each process at most once every ``STATE_RECHECK_SECONDS``
  (``seen_state``), so that a change reaches every process within that time whatever the cache:
  one that processes do not share (LocMemCache), or one that failed to take the write.

``get_cache()`` wraps the configured backend in ``SafeCache``: a cache that is down answers as an
empty one, with a warning in the log, so that decisions are then worked out from the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

from .conf import DEFAULTS, is_seconds, licensing_settings
from .models import LicensingState

logger = logging.getLogger("wagtail_licensing")

VERSION_KEY = "wagtail_licensing:state-version"
EPOCH_KEY = "wagtail_licensing:access-epoch"
# A cache that is down fails on every request: say so once a minute per process, not each time.
WARNING_INTERVAL_SECONDS = 60.0

#: The clock of the recheck and of the warnings (tests replace it).
clock = time.monotonic


# The cache, safe --------------------------------------------------------------------------------

_last_warning: float | None = None


def _failed(alias: str, operation: str, error: Exception) -> None:
    global _last_warning
    now = clock()
    if _last_warning is not None and now - _last_warning < WARNING_INTERVAL_SECONDS:
        return
    _last_warning = now
    logger.warning(
        "The licensing cache %r failed (%s: %s: %s): licensing decisions are worked out from "
        "the database until it answers again. (Logged at most once a minute per process.)",
        alias, operation, type(error).__name__, error)


def forget_failure() -> None:
    """Log the next cache failure at once (tests)."""
    global _last_warning
    _last_warning = None


class SafeCache:
    """The configured cache backend, with every failure turned into a miss and logged.

    ``get`` gives the default, ``get_many`` nothing, ``add``, ``touch``, ``delete`` and
    ``has_key`` False, ``incr``/``decr`` raise ``ValueError`` as for a missing key, and writes
    are dropped. Nothing the app keeps in the cache is needed for a correct decision: stamps and
    decisions are worked out from the database on a miss.
    """

    def __init__(self, backend: BaseCache, alias: str) -> None:
        self.backend = backend
        self.alias = alias

    def _call(self, operation: str, failed: Any, *args: Any) -> Any:
        """The backend's ``operation(*args)``, or ``failed`` (logged) when the backend raises."""
        try:
            return getattr(self.backend, operation)(*args)
        except Exception as error:
            _failed(self.alias, operation, error)
            return failed

    def get(self, key: str, default: Any = None) -> Any:
        return self._call("get", default, key, default)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return self._call("get_many", {}, keys)

    def has_key(self, key: str) -> bool:
        return bool(self._call("has_key", False, key))

    def add(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT) -> bool:
        return bool(self._call("add", False, key, value, timeout))

    def set(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self._call("set", None, key, value, timeout)

    def set_many(self, data: dict[str, Any],
                 timeout: float | None = DEFAULT_TIMEOUT) -> list[str]:
        """The keys that were not stored (all of them when the cache is down)."""
        return self._call("set_many", list(data), data, timeout)

    def touch(self, key: str, timeout: float | None = DEFAULT_TIMEOUT) -> bool:
        return bool(self._call("touch", False, key, timeout))

    def delete(self, key: str) -> bool:
        return bool(self._call("delete", False, key))

    def delete_many(self, keys: Iterable[str]) -> None:
        self._call("delete_many", None, keys)

    def incr(self, key: str, delta: int = 1) -> int:
        try:
            return self.backend.incr(key, delta)
        except ValueError:
            raise
        except Exception as error:
            _failed(self.alias, "incr", error)
            raise ValueError(f"Key {key!r} not found (the cache failed)") from error

    def decr(self, key: str, delta: int = 1) -> int:
        return self.incr(key, -delta)


def get_cache() -> SafeCache:
    """The cache of ``CACHE_ALIAS``, safe: every use of the cache in the app goes through it."""
    alias = licensing_settings.CACHE_ALIAS
    return SafeCache(caches[alias], alias)


# The state as this process last read it ---------------------------------------------------------


class SeenState(NamedTuple):
    """``LicensingState``'s version and access epoch as this process last read them, and when
    (``clock()``, taken before the query, so that every change committed before that moment is
    in what was read)."""

    version: int
    access_epoch: int
    checked_at: float


_seen: SeenState | None = None


def recheck_seconds() -> float:
    """``STATE_RECHECK_SECONDS``; the default when the setting is not a number from 0 up (system
    check ``wagtail_licensing.E017`` says so)."""
    value = licensing_settings.STATE_RECHECK_SECONDS
    return value if is_seconds(value) else DEFAULTS["STATE_RECHECK_SECONDS"]


def seen_state(refresh: bool = False) -> SeenState:
    """The version and access epoch, re-read from the database (one query) when the last read
    is ``STATE_RECHECK_SECONDS`` old, or when ``refresh``; from memory otherwise."""
    global _seen
    seen = _seen
    now = clock()
    if refresh or seen is None or now - seen.checked_at >= recheck_seconds():
        row = LicensingState.objects.filter(pk=LicensingState.SINGLETON_PK).values_list(
            "version", "access_epoch").first()
        if row is None:  # a fresh site: create the singleton once
            state = LicensingState.get()
            row = (state.version, state.access_epoch)
        seen = _seen = SeenState(row[0], row[1], now)
    return seen


def note_state(version: int | None = None, access_epoch: int | None = None) -> None:
    """This process committed a change: apply it here at once, not at the next recheck. (Both
    numbers only grow; the next recheck reads them from the database again.)"""
    global _seen
    seen = _seen
    if seen is not None:
        _seen = seen._replace(version=max(seen.version, version or 0),
                              access_epoch=max(seen.access_epoch, access_epoch or 0))


def forget_seen_state() -> None:
    """Read the state from the database on the next request (tests roll the database back)."""
    global _seen
    _seen = None


def current_state(published_version: Any, published_epoch: Any) -> tuple[int, int]:
    """The version and access epoch this process applies: those published in the cache (just
    read by the caller), never older than this process's last recheck. On a miss of the
    version, the database's, which is then published."""
    seen = seen_state(refresh=published_version is None)
    if published_version is None:
        # add(), not set(): never overwrite a newer version published meanwhile.
        get_cache().add(VERSION_KEY, seen.version, None)
        version = seen.version
    else:
        version = max(int(published_version), seen.version)
    return version, max(int(published_epoch or 0), seen.access_epoch)


def current_version() -> int:
    """The state version this process applies (``current_state``)."""
    return current_state(get_cache().get(VERSION_KEY), None)[0]


def publish_version(version: int) -> None:
    """After commit: a licensing action changed the state to ``version``."""
    note_state(version=version)
    get_cache().set(VERSION_KEY, version, None)


def publish_access_epoch(access_epoch: int) -> None:
    """After commit: groups, permissions or accounts changed (``enforcement.snapshot``)."""
    note_state(access_epoch=access_epoch)
    get_cache().set(EPOCH_KEY, access_epoch, None)


# Concurrent slots -------------------------------------------------------------------------------


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
