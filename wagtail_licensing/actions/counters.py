"""The seat counters (``ProductUsage``): kept by the actions, under the licensing lock.

Grants and recalls move them by what they inserted or deleted (a cost that grows with the
users they touch, never with the users who hold the product); seat reallocation, which already
visits every holder of a product, recounts the products it touched. ``RepairCountersAction``
(``manage.py licensing verify --fix``) recounts every product from the assignments, the
count of group bindings (``LicensingState.group_bindings``) from the bindings, the users who
hold a license (``LicensingState.license_holders``: moved by ``insert_assignments`` and
``delete_assignments``) from the assignments, and the user census (``census``) from the users.

Helpers of actions, called under the lock an action holds, except ``count``, ``drift`` and
``RepairCountersAction``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from .. import census
from ..census import CensusDrift
from ..models import (
    GroupLicense,
    LicenseAssignment,
    LicensingState,
    ProductUsage,
    is_portal_user_expression,
)
from .base import LicensingAction

ACTION_REPAIR_COUNTERS = "wagtail_licensing.repair_counters"


@dataclass(frozen=True)
class Counts:
    """A product code's counters: assignments, those of active users, those with a seat, and
    those of active portal users."""

    holders: int = 0
    active_holders: int = 0
    used: int = 0
    active_portal: int = 0

    def __bool__(self) -> bool:
        return bool(self.holders or self.active_holders or self.used or self.active_portal)


def count(assignments: QuerySet[LicenseAssignment] | None = None) -> dict[str, Counts]:
    """The true counters of ``assignments`` (default: all), per product code, in one query."""
    if assignments is None:
        assignments = LicenseAssignment.objects.all()
    rows = (assignments.order_by().values("product_code").annotate(
        n=Count("pk"),
        active=Count("pk", filter=Q(user__is_active=True)),
        seated=Count("pk", filter=Q(user__is_active=True, has_seat=True)),
        portal=Count("pk", filter=Q(user__is_active=True)
                     & Q(is_portal_user_expression("user_id"))),
    ).values_list("product_code", "n", "active", "seated", "portal"))
    return {code: Counts(n, active, seated, portal)
            for code, n, active, seated, portal in rows}


def kept(codes: Iterable[str] | None = None) -> dict[str, Counts]:
    """The counters as kept, per product code (codes without a row are absent)."""
    rows = ProductUsage.objects.all()
    if codes is not None:
        rows = rows.filter(product_code__in=list(codes))
    return {row.product_code: Counts(row.holders, row.active_holders, row.used,
                                     row.active_portal_holders) for row in rows}


def store(counts: dict[str, Counts]) -> None:
    """Write these counters as they are (one upsert)."""
    if not counts:
        return
    ProductUsage.objects.bulk_create(
        [ProductUsage(product_code=code, holders=c.holders, active_holders=c.active_holders,
                      used=c.used, active_portal_holders=c.active_portal)
         for code, c in counts.items()],
        update_conflicts=True, unique_fields=["product_code"],
        update_fields=["holders", "active_holders", "used", "active_portal_holders"],
    )


def recount(codes: Iterable[str]) -> None:
    """Recount ``codes`` from their assignments: two queries however many codes."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return
    truth = count(LicenseAssignment.objects.filter(product_code__in=codes))
    store({code: truth.get(code, Counts()) for code in codes})


def add(code: str, change: Counts, *, sign: int = 1) -> None:
    """Move ``code``'s counters by ``change`` (``sign=-1`` subtracts): one ``UPDATE``, or a
    recount the first time a code is counted."""
    if not change:
        return
    updated = ProductUsage.objects.filter(product_code=code).update(
        holders=F("holders") + sign * change.holders,
        active_holders=F("active_holders") + sign * change.active_holders,
        used=F("used") + sign * change.used,
        active_portal_holders=F("active_portal_holders") + sign * change.active_portal,
    )
    if not updated:
        recount([code])


def delete_assignments(assignments: QuerySet[LicenseAssignment]) -> dict[str, Counts]:
    """Delete ``assignments`` and take them off the counters (and the users left holding
    nothing off the license holders); what was deleted, per code."""
    deleted = count(assignments)
    if deleted:
        users = get_user_model()._default_manager.filter(
            pk__in=assignments.values("user_id"))
        left = holding_nothing(users, besides=assignments)
        assignments.delete()
        for code, change in deleted.items():
            add(code, change, sign=-1)
        move_license_holders(-left)
    return deleted


def holding_nothing(users: QuerySet, *, besides: QuerySet[LicenseAssignment] | None = None
                    ) -> int:
    """How many of ``users`` hold no assignment (but ``besides``, about to be deleted): one
    query, over those users only."""
    others = LicenseAssignment.objects.filter(user_id=OuterRef("pk"))
    if besides is not None:
        others = others.exclude(pk__in=besides.values("pk"))
    return users.order_by().exclude(Exists(others)).count()


def move_license_holders(change: int) -> None:
    """Move ``LicensingState.license_holders`` (under the lock the action holds)."""
    if change:
        LicensingState.objects.filter(pk=LicensingState.SINGLETON_PK).update(
            license_holders=F("license_holders") + change)


def count_license_holders() -> int:
    """The users who hold at least one assignment, counted."""
    return LicenseAssignment.objects.order_by().values("user_id").distinct().count()


@dataclass(frozen=True)
class Drift:
    """A product code whose kept counters differ from its assignments."""

    code: str
    kept: Counts
    actual: Counts


def drift() -> list[Drift]:
    """Every product code whose counters differ from a recount, in code order."""
    truth = count()
    stored = kept()
    return [Drift(code, stored.get(code, Counts()), truth.get(code, Counts()))
            for code in sorted(set(truth) | set(stored))
            if stored.get(code, Counts()) != truth.get(code, Counts())]


@dataclass(frozen=True)
class BindingsDrift:
    """``LicensingState.group_bindings`` (which lets a deactivation skip group licensing when
    nothing is bound) differs from the bindings there are."""

    kept: int
    actual: int


def bindings_drift(state: LicensingState | None = None) -> BindingsDrift | None:
    """The kept count of group bindings against the bindings, or None when they agree."""
    kept_count = (state or LicensingState.get()).group_bindings
    actual = GroupLicense.objects.count()
    return None if kept_count == actual else BindingsDrift(kept_count, actual)


@dataclass(frozen=True)
class HoldersDrift:
    """``LicensingState.license_holders`` differs from the users who hold a license."""

    kept: int
    actual: int


def license_holders_drift(state: LicensingState | None = None) -> HoldersDrift | None:
    """The kept count of license holders against a count; None when they agree."""
    kept_count = (state or LicensingState.get()).license_holders
    actual = count_license_holders()
    return None if kept_count == actual else HoldersDrift(kept_count, actual)


@dataclass
class RepairResult:
    repaired: list[Drift]
    bindings: BindingsDrift | None = None
    census: CensusDrift | None = None
    license_holders: HoldersDrift | None = None

    @property
    def changed(self) -> bool:
        return bool(self.repaired or self.bindings or self.census or self.license_holders)


class RepairCountersAction(LicensingAction[RepairResult]):
    """Recount every product's counters from the assignments, the group bindings and the user
    census, and store what differs (``manage.py licensing verify --fix``). Logged when
    anything was repaired."""

    log_action = ACTION_REPAIR_COUNTERS

    def _run(self) -> RepairResult:
        repaired = drift()
        store({d.code: d.actual for d in repaired})
        ProductUsage.objects.filter(
            product_code__in=[d.code for d in repaired if not d.actual]).delete()
        bindings = bindings_drift(self.state)
        if bindings is not None:
            self.state.group_bindings = bindings.actual
            self.state.save(update_fields=["group_bindings"])
        holders = license_holders_drift(self.state)
        if holders is not None:
            self.state.license_holders = holders.actual
            self.state.save(update_fields=["license_holders"])
        return RepairResult(repaired, bindings, census.repair(), holders)

    def log_data(self, result: RepairResult) -> dict[str, Any]:
        data: dict[str, Any] = {
            "repaired": {d.code: {"kept": vars(d.kept), "actual": vars(d.actual)}
                         for d in result.repaired}}
        if result.bindings is not None:
            data["group_bindings"] = vars(result.bindings)
        if result.license_holders is not None:
            data["license_holders"] = vars(result.license_holders)
        if result.census is not None:
            data["census"] = {"kept": vars(result.census.kept),
                              "actual": vars(result.census.actual)}
        return data
