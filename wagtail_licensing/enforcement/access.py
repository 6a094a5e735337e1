"""Who may use what: the access decision, from a site snapshot and a user's facts.

Pure: no query and no cache. ``snapshot.py`` gathers the facts (a few queries on a cache miss)
and caches the resulting ``Access``; the middleware, the decorators and the template tags read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Any

from django.db.models import TextChoices

from ..conf import DemoAccess, licensing_settings
from ..rules.status import CONCURRENT, Alert, ProductFacts, opens_admin


class AdminAccess(TextChoices):
    """What a user may do in the admin."""

    FULL = "full"  # the whole admin (feature gating aside)
    CONCURRENT = "concurrent"  # the whole admin while the session holds a concurrent slot
    LICENSING = "licensing"  # a license manager without a license: licensing screens only
    DENIED = "denied"  # kept out with the "no license" page
    NOT_ADMIN = "not_admin"  # no admin access permission at all: Wagtail itself refuses


class Reason(TextChoices):
    """Why a user is denied (or limited to the licensing screens)."""

    NONE = ""
    UNLICENSED = "unlicensed"
    PORTAL = "portal"
    DEMO = "demo"  # demo mode with DEMO_ACCESS "managers"


@dataclass(frozen=True)
class Feature:
    """One entry of the ``FEATURES`` setting."""

    name: str
    label: str
    products: frozenset[str]
    admin_url_prefixes: tuple[str, ...]
    menu_items: frozenset[str]


_parsed_features: tuple[object, Mapping[str, Feature]] = (object(), {})


def features() -> Mapping[str, Feature]:
    """``FEATURES``, parsed: once per value of the setting (every admin request reads it,
    up to six times on a page with menus), not on every call. Read-only."""
    global _parsed_features
    raw = licensing_settings.FEATURES
    seen, parsed = _parsed_features
    if seen is not raw:
        parsed = MappingProxyType({
            name: Feature(name=name, label=spec.get("label") or name,
                          products=frozenset(spec.get("products") or ()),
                          admin_url_prefixes=tuple(spec.get("admin_url_prefixes") or ()),
                          menu_items=frozenset(spec.get("menu_items") or ()))
            for name, spec in (raw or {}).items()
        })
        _parsed_features = (raw, parsed)
    return parsed


@dataclass(frozen=True)
class SiteSnapshot:
    """The installed products and managers' alerts on one day: the same for every user."""

    demo: bool
    products: tuple[ProductFacts, ...]
    granting: frozenset[str]  # codes that grant access that day (grace period included)
    alerts: tuple[Alert, ...]
    # In demo mode: who reaches the admin (``rules.status.demo_access``).
    demo_access: DemoAccess = DemoAccess.ALL

    def product(self, code: str) -> ProductFacts | None:
        for product in self.products:
            if product.code == code:
                return product
        return None


@dataclass(frozen=True)
class UserFacts:
    """What the decision needs to know about one user (``snapshot.user_facts`` reads it)."""

    pk: Any
    manager: bool
    portal: bool
    admin_permission: bool
    held: frozenset[str] = frozenset()  # granting product codes held with a seat


@dataclass(frozen=True)
class Access:
    """What one user may do, for one stamp. Cached; never holds model instances."""

    stamp: tuple[Any, ...]
    user_pk: Any
    admin: AdminAccess
    reason: Reason = Reason.NONE
    manager: bool = False
    demo: bool = False
    demo_grants: bool = False  # in demo mode: does everything count as licensed for this user?
    portal: bool = False
    products: frozenset[str] = frozenset()  # product codes the user may use today
    slot_products: tuple[str, ...] = ()  # concurrent admin products, in the order slots are tried
    admin_products: frozenset[str] = frozenset()  # held products that open the admin
    features: frozenset[str] = frozenset()  # feature names the user may use
    alerts: tuple[Alert, ...] = field(default=())  # for license managers only

    @property
    def problems(self) -> tuple[Alert, ...]:
        return tuple(alert for alert in self.alerts if alert.is_problem)

    def has_license(self, *codes: str) -> bool:
        if self.demo:
            return self.demo_grants
        return any(code in self.products for code in codes)

    def has_feature(self, name: str) -> bool:
        return name in self.features

    # Read from the cache on every admin request: the enums travel as their values and come
    # back by dict lookup, which keeps the warm check as cheap as with bare strings.
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "admin": self.admin.value, "reason": self.reason.value}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, admin=_ADMIN_BY_VALUE[state["admin"]],
                             reason=_REASON_BY_VALUE[state["reason"]])

    def with_admin(self, admin: AdminAccess, reason: Reason = Reason.NONE) -> Access:
        """A copy with another admin level (e.g. a manager without a free concurrent slot)."""
        return replace(self, admin=admin, reason=reason or self.reason)


_ADMIN_BY_VALUE: dict[str, AdminAccess] = {member.value: member for member in AdminAccess}
_REASON_BY_VALUE: dict[str, Reason] = {member.value: member for member in Reason}


def admin_product_codes(snapshot: SiteSnapshot) -> set[str]:
    """Codes of the installed products that open the admin (``ADMIN_PRODUCTS``)."""
    return {p.code for p in snapshot.products if opens_admin(p.code, p.type)}


def compute_access(user: UserFacts, stamp: tuple[Any, ...], snapshot: SiteSnapshot) -> Access:
    """The decision for one user."""
    feature_specs = features()
    common = {"stamp": stamp, "user_pk": user.pk, "manager": user.manager,
              "portal": user.portal, "alerts": snapshot.alerts if user.manager else ()}

    if snapshot.demo:
        allowed = snapshot.demo_access == DemoAccess.ALL or user.manager
        if not user.admin_permission:
            admin = AdminAccess.NOT_ADMIN
        elif user.portal:
            admin = AdminAccess.DENIED
        else:
            admin = AdminAccess.FULL if allowed else AdminAccess.DENIED
        reason = Reason.PORTAL if user.portal else (Reason.NONE if allowed else Reason.DEMO)
        return Access(admin=admin, reason=reason, demo=True, demo_grants=allowed,
                      features=frozenset(feature_specs) if allowed else frozenset(), **common)

    products = frozenset(user.held & snapshot.granting)
    openers = admin_product_codes(snapshot)
    opening = [p for p in snapshot.products if p.code in products and p.code in openers]
    named = [p.code for p in opening if p.type != CONCURRENT]
    concurrent = tuple(p.code for p in opening if p.type == CONCURRENT)
    allowed_features = frozenset(name for name, spec in feature_specs.items()
                                 if spec.products & products)
    reason = Reason.NONE
    if not user.admin_permission:
        admin = AdminAccess.NOT_ADMIN
    elif user.portal:
        admin, reason = AdminAccess.DENIED, Reason.PORTAL
    elif named:
        admin = AdminAccess.FULL
    elif concurrent:
        admin = AdminAccess.CONCURRENT
    elif user.manager:
        admin, reason = AdminAccess.LICENSING, Reason.UNLICENSED
    else:
        admin, reason = AdminAccess.DENIED, Reason.UNLICENSED
    return Access(admin=admin, reason=reason, products=products, slot_products=concurrent,
                  admin_products=frozenset(p.code for p in opening),
                  features=allowed_features, **common)


def granting_codes(products: tuple[ProductFacts, ...], day: date) -> frozenset[str]:
    return frozenset(p.code for p in products if p.grants_on(day))
