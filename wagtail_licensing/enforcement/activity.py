"""Usage history on the request path: last activity, and the day's usage snapshot.

Last activity is written at most once a day per user and product set, on that user's first
request of the day: the key that says "already recorded today" is fetched in the same cache
round trip as the user's access (``snapshot.lookup``'s extra keys), so that the warm path makes
no query and no extra cache call. The first request of the day ``add``s the key (atomic in
every Django cache backend, so that one process writes) and makes one ``UPDATE``. With the
cache down nothing is recorded (the failure is logged by ``SafeCache``): activity is a hint for
reports, never an input of a decision.

The day's snapshot is taken by the first licensing read of a new day in each process: the site
snapshot is worked out at least once a day (its cache key holds the day), and then
``ensure_daily_snapshot`` checks, with one query per process and day, whether another process
took it already.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.db import DatabaseError

from .. import operations
from ..actions.usage import daily_usage_snapshot_taken
from ..cache import get_cache
from ..dates import seconds_until_midnight, site_today
from ..models import UsageSnapshot

logger = logging.getLogger("wagtail_licensing")

ADMIN_SCOPE = "admin"
_MAX_SCOPE_LENGTH = 100


def activity_key(user_pk: Any, day: date, scope: str = ADMIN_SCOPE) -> str:
    """The cache key saying ``user_pk``'s activity of ``scope`` is recorded for ``day``.
    ``scope`` is "admin", or the product codes of a ``license_required`` view."""
    if len(scope) > _MAX_SCOPE_LENGTH:  # memcached keys are at most 250 characters
        scope = hashlib.sha256(scope.encode()).hexdigest()[:16]
    return f"wagtail_licensing:active:{user_pk}:{day.isoformat()}:{scope}"


def codes_scope(codes: Iterable[str]) -> str:
    return ",".join(sorted(codes))


def note_activity(user: Any, codes: Iterable[str], *, key: str,
                  values: Mapping[str, Any] | None = None, day: date | None = None) -> bool:
    """Record that ``user`` used ``codes`` today, unless ``key`` says it is recorded already
    (in ``values``, the cache entries the caller fetched, or in the cache). Whether it wrote."""
    codes = list(codes)
    if not codes or (values is not None and key in values):
        return False
    cache = get_cache()
    if not cache.add(key, True, seconds_until_midnight()):
        return False  # recorded today by another request (or the cache is down)
    try:
        operations.record_activity(user, codes, day=day)
    except DatabaseError:
        cache.delete(key)  # try again on the next request
        logger.exception("Could not record the licensing activity of user %s", user.pk)
        return False
    return True


# The day's snapshot -----------------------------------------------------------------------------

_snapshot_day: date | None = None
"""The last day this process saw a snapshot taken for (tests set ``date.max`` to turn the
automatic snapshot off, and ``None`` to turn it back on)."""


def ensure_daily_snapshot(day: date | None = None) -> bool:
    """Take today's usage snapshot if nobody has yet; whether this call took it. No query once
    this process has seen today's, one query per process and day otherwise."""
    global _snapshot_day
    day = day or site_today()
    seen = _snapshot_day
    if seen is not None and seen >= day:
        return False
    taken = False
    try:
        if not UsageSnapshot.objects.filter(day=day).exists():
            operations.take_usage_snapshot(day=day)
            taken = True
    except DatabaseError:
        logger.exception("Could not take the daily licensing usage snapshot")
    _snapshot_day = day
    if taken:
        # What else runs once a day (the reclaim of idle seats); receivers log their errors.
        daily_usage_snapshot_taken.send_robust(sender=UsageSnapshot, day=day)
    return taken


def forget_daily_snapshot() -> None:
    """Look for today's snapshot again on the next licensing read (tests, a new day)."""
    global _snapshot_day
    _snapshot_day = None
