"""Idle seats: who holds a product without using it, and what recalling them would free.

"Idle" is ``LicenseAssignment.objects.idle`` (not used for ``IDLE_DAYS`` days); this module
reads it for the License usage report, the "Recall idle seats" preview and the automatic
reclaim, in a number of queries that grows with the products, never with the holders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from ..conf import DEFAULTS, licensing_settings
from ..models import LicenseAssignment, LicensedProduct, LicensingState
from ..permissions import MANAGE, permission_policy
from ..rules.labels import product_label

SAMPLE_SIZE = 50
"""How many holders a preview names per product (the counts are always complete)."""


def idle_days() -> int:
    """``IDLE_DAYS``, or its default when the setting is wrong (check E050 says so)."""
    value = licensing_settings.IDLE_DAYS
    return value if type(value) is int and value >= 1 else DEFAULTS["IDLE_DAYS"]


@dataclass
class IdleProduct:
    """The idle holders of one product: how many, how many seats they hold, some names."""

    code: str
    name: str | None
    holders: int = 0
    seats_freed: int = 0
    names: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return product_label(self.name, self.code)

    @property
    def more(self) -> int:
        return max(self.holders - len(self.names), 0)


def installed_codes() -> dict[str, str]:
    """Code -> name of the installed products (one query)."""
    state = LicensingState.objects.filter(pk=LicensingState.SINGLETON_PK).values(
        "installed_file_id")
    return dict(LicensedProduct.objects.filter(license_file_id__in=state)
                .order_by("name", "code").values_list("code", "name"))


def idle_assignments(days: int | None = None, *, users: QuerySet | None = None,
                     codes: list[str] | None = None, today: date | None = None,
                     ) -> QuerySet[LicenseAssignment]:
    """Assignments idle for ``days`` (default ``IDLE_DAYS``), of ``users`` and ``codes`` if
    given."""
    queryset = LicenseAssignment.objects.idle(days or idle_days(), today)
    if users is not None:
        queryset = queryset.filter(user_id__in=users.order_by().values("pk"))
    if codes is not None:
        queryset = queryset.filter(product_code__in=codes)
    return queryset


def idle_summary(days: int | None = None, *, users: QuerySet | None = None,
                 codes: list[str] | None = None, sample: int = 0,
                 today: date | None = None) -> list[IdleProduct]:
    """Per product with idle holders (installed ones by name, then other codes): how many,
    the seats recalling them would free, and up to ``sample`` usernames. Two queries, plus one
    per product when names are asked for."""
    names = installed_codes()
    queryset = idle_assignments(days, users=users, codes=codes, today=today)
    counts = (queryset.order_by().values_list("product_code")
              .annotate(n=Count("pk"), seats=Count("pk", filter=Q(has_seat=True,
                                                                  user__is_active=True))))
    found = {code: (n, seats) for code, n, seats in counts}
    order = [code for code in names if code in found] + sorted(
        code for code in found if code not in names)
    username = f"user__{get_user_model().USERNAME_FIELD}"
    products: list[IdleProduct] = []
    for code in order:
        n, seats = found[code]
        product = IdleProduct(code=code, name=names.get(code), holders=n, seats_freed=seats)
        if sample:
            product.names = list(queryset.filter(product_code=code).order_by(username)
                                 .values_list(username, flat=True)[:sample])
        products.append(product)
    return products


def manager_users() -> QuerySet:
    """Everybody who holds CanManageLicUsers (superusers included): the automatic reclaim
    never takes their seats."""
    return permission_policy.users_with_permission(MANAGE)
