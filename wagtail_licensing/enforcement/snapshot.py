"""The cached decision: stamps, the site snapshot, one user's lookup, and invalidation.

A user's ``Access`` is worked out from the database on a miss and kept in Django's cache
(``CACHE_ALIAS``) together with the *stamp* it was computed for:

- the license-state version, which every grant, recall, upload, delete and user status change
  bumps (the actions publish it to the cache after commit, ``wagtail_licensing.cache``),
- a site-wide token and a per-user token, renewed after commit when groups, permissions, a user
  account or its portal marker change (``signals.py``),
- the site's date (``TIME_ZONE``), so that validity dates and ``GRACE_DAYS`` take effect at local
  midnight without any change of state,
- a fingerprint of the settings, so that a deploy with new settings never reuses old decisions.

The stamp parts and the user's entry are read with one ``get_many``: a warm check costs one cache
round trip and no database query. An entry with another stamp is recomputed, so with a cache
shared by every process (Redis or Memcached through Django's cache framework) a change takes
effect on the next request everywhere.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from .. import __version__
from ..cache import VERSION_KEY, current_version, get_cache
from ..conf import licensing_settings
from ..dates import seconds_until_midnight, site_today
from ..models import LicenseAssignment, LicensedProduct, LicensingState, PortalUser
from ..permissions import can_manage_licenses
from ..rules.status import Alert, ProductFacts, site_alerts
from .access import Access, SiteSnapshot, UserFacts, compute_access, granting_codes

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
            "ADMIN_PRODUCTS", "DEMO_ACCESS", "FEATURES", "GRACE_DAYS", "WARN_DAYS",
            "SEAT_WARNING_THRESHOLD", "CONCURRENT_IDLE_MINUTES")]
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
        return SiteSnapshot(demo=True, products=(), granting=frozenset(),
                            alerts=site_alerts((), day, demo=True))
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


def _token(cache: Any, key: str, values: dict[str, Any], timeout: int | None = None) -> str:
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
    """The user's access, from the cache when warm (one ``get_many``, no query)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Lookup(access=None, stamp=(), version=0)
    cache = get_cache()
    user = getattr(user, "_wrapped", user)
    keys = [VERSION_KEY, GLOBAL_TOKEN_KEY, user_token_key(user.pk), access_key(user.pk),
            *extra_keys]
    values = cache.get_many(keys)
    version = values.get(VERSION_KEY)
    if version is None:
        version = current_version()
    day = site_today()
    stamp = (version, _token(cache, GLOBAL_TOKEN_KEY, values),
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
    ``DEMO_ACCESS`` is ``"all"``, and for license managers only when it is ``"managers"``.
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


def _renew(key: str, timeout: int | None = None) -> None:
    def renew() -> None:
        get_cache().set(key, uuid.uuid4().hex, timeout)

    transaction.on_commit(renew)


def invalidate_all_users() -> None:
    """Recompute every user's access on their next request (after the current commit)."""
    _renew(GLOBAL_TOKEN_KEY)


def invalidate_user(user_pk: Any) -> None:
    """Recompute one user's access on their next request (after the current commit)."""
    _renew(user_token_key(user_pk), USER_TOKEN_TIMEOUT)
