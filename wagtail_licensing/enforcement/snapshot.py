"""The cached decision: stamps, the site snapshot, one user's lookup, and invalidation.

A user's ``Access`` is worked out from the database on a miss and kept in Django's cache
(``CACHE_ALIAS``) together with the *stamp* it was computed for:

- the license-state version, which every grant, recall, upload, delete and user status change
  bumps, and the access epoch, which changes of groups, permissions, user accounts and portal
  markers bump (after commit, ``invalidate_*`` below). Each is the newer of what the cache
  holds (published after commit) and what this process last read from the database, which it
  re-reads at most once every ``STATE_RECHECK_SECONDS`` (``wagtail_licensing.cache``);
- a site-wide token and a per-user token, renewed after commit with the epoch, so that
  processes sharing the cache apply such a change on their next request;
- the site's date (``TIME_ZONE``), so that validity dates and ``GRACE_DAYS`` take effect at local
  midnight without any change of state,
- a fingerprint of the settings, so that a deploy with new settings never reuses old decisions.

The stamp parts and the user's entry are read with one ``get_many``: a warm check costs one cache
round trip and no database query (one query per process every ``STATE_RECHECK_SECONDS``). An
entry with another stamp is recomputed, so a change takes effect on the next request in every
process that shares the cache, and within ``STATE_RECHECK_SECONDS`` in every other one. A cache
that is down is a miss (``SafeCache``): decisions are then worked out from the database.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import DatabaseError, transaction
from django.http import HttpRequest

from .. import __version__
from ..cache import (
    EPOCH_KEY,
    VERSION_KEY,
    SafeCache,
    current_state,
    current_version,
    get_cache,
    publish_access_epoch,
)
from ..conf import licensing_settings
from ..dates import seconds_until_midnight, site_today
from ..models import LicenseAssignment, LicensedProduct, LicensingState, PortalUser
from ..permissions import can_manage_licenses
from ..rules.status import Alert, ProductFacts, demo_access, site_alerts
from .access import Access, SiteSnapshot, UserFacts, compute_access, granting_codes

logger = logging.getLogger("wagtail_licensing")

GLOBAL_TOKEN_KEY = "wagtail_licensing:auth-token"  # noqa: S105 - a cache key
_KEY_PREFIX = f"wagtail_licensing:{__version__}"
USER_TOKEN_TIMEOUT = 7 * 24 * 3600


def user_token_key(user_pk: Any) -> str:
    return f"wagtail_licensing:user-token:{user_pk}"


def access_key(user_pk: Any) -> str:
    return f"{_KEY_PREFIX}:access:{user_pk}"


def site_key(version: int, day: date, fingerprint: str) -> str:
    return f"{_KEY_PREFIX}:site:{fingerprint}:{version}:{day.isoformat()}"


# Settings -------------------------------------------------------------------------------------

_fingerprint: str | None = None


def settings_fingerprint() -> str:
    """A short hash of the settings decisions depend on (recomputed when settings change)."""
    global _fingerprint
    if _fingerprint is None:
        relevant = [repr(getattr(licensing_settings, name)) for name in (
            "ADMIN_PRODUCTS", "DEMO_ACCESS", "DEMO_ACCESS_AFTER_DELETE", "FEATURES",
            "GRACE_DAYS", "WARN_DAYS", "SEAT_WARNING_THRESHOLD", "CONCURRENT_IDLE_MINUTES")]
        _fingerprint = hashlib.sha256("\n".join(relevant).encode()).hexdigest()[:12]
    return _fingerprint


def forget_fingerprint() -> None:
    """Settings changed (``signals.py``): the next stamp hashes them again."""
    global _fingerprint
    _fingerprint = None


# The site: installed products and warnings, the same for every user ---------------------------


def compute_site(day: date) -> SiteSnapshot:
    state = LicensingState.get()
    if state.demo_mode:
        deleted = state.licenses_deleted()
        return SiteSnapshot(demo=True, products=(), granting=frozenset(),
                            alerts=site_alerts((), day, demo=True, deleted=deleted),
                            demo_access=demo_access(deleted=deleted))
    products = tuple(ProductFacts.of(p) for p in LicensedProduct.objects.filter(
        license_file_id=state.installed_file_id).with_usage().order_by("type", "code"))
    return SiteSnapshot(demo=False, products=products, granting=granting_codes(products, day),
                        alerts=site_alerts(products, day))


def site_snapshot(version: int | None = None, day: date | None = None) -> SiteSnapshot:
    """The installed products and managers' alerts, cached per state version and day."""
    version = current_version() if version is None else version
    day = day or site_today()
    cache = get_cache()
    key = site_key(version, day, settings_fingerprint())
    snapshot = cache.get(key)
    if snapshot is None:
        snapshot = compute_site(day)
        cache.set(key, snapshot, seconds_until_midnight())
    return snapshot


# One user's access ----------------------------------------------------------------------------


def user_facts(user: Any, snapshot: SiteSnapshot) -> UserFacts:
    """What the decision needs about ``user``, from the database (a cache miss)."""
    held: frozenset[str] = frozenset()
    if not snapshot.demo and snapshot.granting:
        held = frozenset(LicenseAssignment.objects.with_seat().filter(
            user_id=user.pk, product_code__in=list(snapshot.granting),
        ).values_list("product_code", flat=True))
    return UserFacts(
        pk=user.pk,
        manager=can_manage_licenses(user),
        portal=PortalUser.objects.filter(user_id=user.pk).exists(),
        admin_permission=user.is_superuser or user.has_perm("wagtailadmin.access_admin"),
        held=held,
    )


def _token(cache: SafeCache, key: str, values: dict[str, Any],
           timeout: int | None = None) -> str:
    """The token under ``key``, created on a miss. With the cache down, a new one every time:
    every decision is then worked out again, from the database."""
    token = values.get(key)
    if token is None:
        token = uuid.uuid4().hex
        if not cache.add(key, token, timeout):
            token = cache.get(key) or token
    return token


@dataclass
class Lookup:
    """The result of one cache round trip for a request: the stamp, the access and extras."""

    access: Access | None
    stamp: tuple[Any, ...]
    version: int
    values: dict[str, Any] = field(default_factory=dict)


def lookup(user: Any, extra_keys: Iterable[str] = ()) -> Lookup:
    """The user's access, from the cache when warm (one ``get_many``, and no query but the
    recheck of the state, once per process every ``STATE_RECHECK_SECONDS``)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Lookup(access=None, stamp=(), version=0)
    cache = get_cache()
    user = getattr(user, "_wrapped", user)
    keys = [VERSION_KEY, EPOCH_KEY, GLOBAL_TOKEN_KEY, user_token_key(user.pk),
            access_key(user.pk), *extra_keys]
    values = cache.get_many(keys)
    version, epoch = current_state(values.get(VERSION_KEY), values.get(EPOCH_KEY))
    day = site_today()
    stamp = (version, epoch, _token(cache, GLOBAL_TOKEN_KEY, values),
             _token(cache, user_token_key(user.pk), values, USER_TOKEN_TIMEOUT),
             day.isoformat(), settings_fingerprint())
    access = values.get(access_key(user.pk))
    if not isinstance(access, Access) or access.stamp != stamp:
        snapshot = site_snapshot(version, day)
        access = compute_access(user_facts(user, snapshot), stamp, snapshot)
        cache.set(access_key(user.pk), access, seconds_until_midnight())
    return Lookup(access=access, stamp=stamp, version=version, values=values)


def get_access(user: Any) -> Access | None:
    """The user's ``Access`` (None for anonymous and inactive users)."""
    return lookup(user).access


def request_access(request: HttpRequest | None, user: Any) -> Access | None:
    """The access the middleware worked out for this request, when it is about ``user``."""
    access = getattr(request, "wagtail_licensing", None) if request is not None else None
    if access is not None and user is not None and access.user_pk == getattr(user, "pk", None):
        return access
    return None


def has_license(user: Any, *codes: str, request: HttpRequest | None = None) -> bool:
    """Does ``user`` hold one of the product ``codes``, valid today, with a seat?

    In demo mode (no license installed) every product counts as licensed when
    ``DEMO_ACCESS`` is ``"all"``, and for license managers only when it is ``"managers"``
    (``DEMO_ACCESS_AFTER_DELETE`` once the site's licenses were deleted).
    """
    if not codes:
        raise TypeError("has_license() needs at least one product code")
    access = request_access(request, user) or get_access(user)
    return access is not None and access.has_license(*codes)


def has_feature(user: Any, name: str, *, request: HttpRequest | None = None) -> bool:
    """May ``user`` use the feature ``name`` of the ``FEATURES`` setting?"""
    access = request_access(request, user) or get_access(user)
    return access is not None and access.has_feature(name)


def banner_alerts(access: Access | None) -> Sequence[Alert]:
    """Alerts shown to license managers at the top of every admin page."""
    if access is None or not access.manager:
        return ()
    return access.alerts


# Invalidation: groups, permissions, accounts ---------------------------------------------------


class _Renewal:
    """What to renew once the current transaction commits: the site-wide token or some users'
    tokens in the cache, and the access epoch in the database (one ``UPDATE``, then the new
    value read back to publish it), which every process reads within ``STATE_RECHECK_SECONDS``.
    One per transaction, however many users changed in it."""

    def __init__(self) -> None:
        self.all_users = False
        self.user_pks: set[Any] = set()

    def __call__(self) -> None:
        cache = get_cache()
        if self.all_users:
            cache.set(GLOBAL_TOKEN_KEY, uuid.uuid4().hex, None)
        if self.user_pks:
            cache.set_many({user_token_key(pk): uuid.uuid4().hex for pk in self.user_pks},
                           USER_TOKEN_TIMEOUT)
        try:
            epoch = LicensingState.bump_access_epoch()
        except DatabaseError:
            # The change itself has committed: log, never turn it into an error page.
            logger.exception("Could not renew the licensing access epoch after a change of "
                             "groups, permissions or accounts")
            return
        if epoch is not None:
            publish_access_epoch(epoch)


def _renew(*, all_users: bool = False, user_pk: Any = None) -> None:
    renewal = _pending_renewal()
    pending = renewal is not None
    renewal = renewal or _Renewal()
    renewal.all_users |= all_users
    if user_pk is not None:
        renewal.user_pks.add(user_pk)
    if not pending:
        transaction.on_commit(renewal)  # outside a transaction: at once


def _pending_renewal() -> _Renewal | None:
    """The renewal already waiting for the current transaction to commit, if any.

    Django keeps the callbacks of the transaction on the connection (dropping those of a
    savepoint that rolls back), so that list is where to look. A renewal registered before a
    savepoint that then rolls back renews a little more than needed, which is harmless.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _Renewal):
            return entry[1]
    return None


def invalidate_all_users() -> None:
    """Recompute every user's access on their next request (after the current commit)."""
    _renew(all_users=True)


def invalidate_user(user_pk: Any) -> None:
    """Recompute one user's access on their next request (after the current commit). The
    access epoch is site-wide, so processes that do not share the cache recompute every user's
    once."""
    _renew(user_pk=user_pk)
