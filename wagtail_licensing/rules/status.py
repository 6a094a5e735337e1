"""A product's status and what license managers are warned about: one rule for every surface.

Status tags (License manager, product page, dashboard), the dashboard's warnings, the admin
banner, the e-mailed notices, ``licensing status`` and the enforcement decision all ask this
module, so they cannot disagree (they once did: during ``GRACE_DAYS`` the tags said "Expired"
while the banner said the product still granted access).

A product has exactly one status on a day. The validity dates decide first, because they say
whether anybody can use the product at all; seats come second; the expiry warning last:

    not yet valid > expired > in grace > over-allocated > expiring > active

So an over-allocated product that also expires soon shows "Over-allocated" (some holders have
no access *now*), and its alerts still include the expiry warning: the status is one word for a
tag, the alerts are everything a manager should act on.

Pure: works on ``ProductFacts`` (plain values), never on models, so the enforcement snapshot
can be cached and the rules tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..conf import DemoAccess, licensing_settings
from ..dates import format_day
from .labels import product_label

CONCURRENT = "concurrent"
"""The license file's product type whose seats are sessions (``license_file.PRODUCT_TYPES``)."""

PORTAL = "portal"
"""The license file's product type of front-end (portal) products: they never open the admin."""


def opens_admin(code: str, type: str) -> bool:
    """Whether holding a product of this code and type opens the Wagtail admin: any product
    but a portal one, or only those ``ADMIN_PRODUCTS`` names when it is set. The enforcement
    decision and the upload preview (who would lose the admin) both ask this."""
    configured = licensing_settings.ADMIN_PRODUCTS
    return type != PORTAL and (configured is None or code in set(configured))


class ProductStatus(TextChoices):
    """A product's state on a day, in precedence order (see the module docstring)."""

    NOT_YET_VALID = "not_yet_valid", gettext_lazy("Not yet valid")
    EXPIRED = "expired", gettext_lazy("Expired")
    IN_GRACE = "in_grace", gettext_lazy("In grace period")
    OVER_ALLOCATED = "over_allocated", gettext_lazy("Over-allocated")
    EXPIRING = "expiring", gettext_lazy("Expiring")
    ACTIVE = "active", gettext_lazy("Active")


class Tone(TextChoices):
    """The colour of a status tag (see license-manager.css)."""

    POSITIVE = "positive"
    WARNING = "warning"
    CRITICAL = "critical"
    NEUTRAL = "neutral"


STATUS_TONES: dict[ProductStatus, Tone] = {
    ProductStatus.ACTIVE: Tone.POSITIVE,
    ProductStatus.EXPIRING: Tone.WARNING,
    ProductStatus.OVER_ALLOCATED: Tone.CRITICAL,
    ProductStatus.IN_GRACE: Tone.CRITICAL,
    ProductStatus.EXPIRED: Tone.CRITICAL,
    ProductStatus.NOT_YET_VALID: Tone.NEUTRAL,
}


class AlertKind(TextChoices):
    DEMO = "demo"
    DEMO_MANAGERS = "demo_managers"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRING = "expiring"
    IN_GRACE = "in_grace"
    EXPIRED = "expired"
    OVER_ALLOCATED = "over_allocated"
    SEATS = "seats"


class AlertLevel(TextChoices):
    """``error`` alerts are problems: managers land on the License manager when they log in."""

    ERROR = "error"
    WARNING = "warning"


PROBLEMS = frozenset({AlertKind.EXPIRED, AlertKind.IN_GRACE, AlertKind.OVER_ALLOCATED})


def grace_period() -> timedelta:
    return timedelta(days=licensing_settings.GRACE_DAYS)


@dataclass(frozen=True)
class ProductFacts:
    """What the status rules need to know about one installed product, as plain values."""

    code: str
    name: str
    type: str
    seats: int | None
    valid_from: date
    valid_until: date
    in_use: int = 0  # seats taken (named, portal) or sessions holding a slot (concurrent)
    active_holders: int = 0
    over_allocated: bool = False  # more active holders than seats (seat-counted products)

    @classmethod
    def of(cls, product: Any) -> ProductFacts:
        """The facts of a ``LicensedProduct`` annotated ``with_usage()``."""
        return cls(code=product.code, name=product.name, type=str(product.type),
                   seats=product.seats, valid_from=product.valid_from,
                   valid_until=product.valid_until, in_use=product.in_use,
                   active_holders=product.active_holders,
                   over_allocated=bool(product.over_allocated))

    @property
    def label(self) -> str:
        return product_label(self.name, self.code)

    @property
    def concurrent(self) -> bool:
        return self.type == CONCURRENT

    @property
    def grants_until(self) -> date:
        """The last day the product grants access: ``valid_until`` plus ``GRACE_DAYS``."""
        return self.valid_until + grace_period()

    def grants_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.grants_until

    def days_left(self, day: date) -> int:
        return (self.valid_until - day).days

    @property
    def without_seat(self) -> int:
        """Active holders an over-allocated product has no seat for."""
        return max(self.active_holders - (self.seats or 0), 0) if self.over_allocated else 0

    @property
    def seats_running_out(self) -> bool:
        """``SEAT_WARNING_THRESHOLD`` of the seats (or concurrent slots) are in use."""
        return bool(self.seats) and (
            self.in_use >= licensing_settings.SEAT_WARNING_THRESHOLD * self.seats)


def product_status(product: ProductFacts, day: date) -> ProductStatus:
    """The one status of ``product`` on ``day``."""
    if day < product.valid_from:
        return ProductStatus.NOT_YET_VALID
    if day > product.valid_until:
        return ProductStatus.IN_GRACE if day <= product.grants_until else ProductStatus.EXPIRED
    if product.over_allocated:
        return ProductStatus.OVER_ALLOCATED
    if product.days_left(day) <= licensing_settings.WARN_DAYS:
        return ProductStatus.EXPIRING
    return ProductStatus.ACTIVE


def status_label(product: ProductFacts, day: date, status: ProductStatus | None = None) -> str:
    """The status tag's text: the status, with the days or the date a manager needs."""
    status = status or product_status(product, day)
    if status == ProductStatus.EXPIRING:
        days = product.days_left(day)
        if days == 0:
            return _("Expires today")
        return ngettext("Expires in %(days)d day", "Expires in %(days)d days", days) % {
            "days": days}
    if status == ProductStatus.IN_GRACE:
        return _("In grace period until %(date)s") % {"date": format_day(product.grants_until)}
    return str(status.label)


def status_tag(product: ProductFacts, day: date) -> tuple[str, Tone]:
    """``(label, tone)`` of the product's status tag."""
    status = product_status(product, day)
    return status_label(product, day, status), STATUS_TONES[status]


@dataclass(frozen=True)
class Alert:
    """Something license managers should know. Worded when shown, in the reader's language."""

    kind: AlertKind
    product: ProductFacts | None = None
    days: int = 0  # days left, for EXPIRING

    # Cached inside every license manager's access (see ``enforcement.access.Access``).
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "kind": self.kind.value}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, kind=_KIND_BY_VALUE[state["kind"]])

    @property
    def is_problem(self) -> bool:
        return self.kind in PROBLEMS

    @property
    def level(self) -> AlertLevel:
        return AlertLevel.ERROR if self.is_problem else AlertLevel.WARNING

    @property
    def message(self) -> str:
        return alert_message(self)

    def __str__(self) -> str:
        return self.message


_KIND_BY_VALUE: dict[str, AlertKind] = {member.value: member for member in AlertKind}


_DATED_KINDS = frozenset({AlertKind.EXPIRED, AlertKind.IN_GRACE, AlertKind.NOT_YET_VALID,
                          AlertKind.EXPIRING})


def alert_message(alert: Alert) -> str:
    """Every alert's wording, in one place: the banner, the dashboard and the login messages."""
    if alert.kind == AlertKind.DEMO:
        return _("This site runs in demo mode: no license is installed, so every user can "
                 "use the admin. Upload a license file in the License manager.")
    if alert.kind == AlertKind.DEMO_MANAGERS:
        return _("This site runs in demo mode: no license is installed, so only license "
                 "managers can use the admin. Upload a license file in the License manager.")
    p = alert.product
    assert p is not None  # noqa: S101 - every other kind is about a product
    values: dict[str, Any] = {"product": p.label, "days": alert.days, "used": p.in_use,
                              "seats": p.seats or 0, "holders": p.active_holders,
                              "without": p.without_seat}
    if alert.kind in _DATED_KINDS:  # formatting a date is most of the wording's cost
        values.update({"until": format_day(p.valid_until), "from": format_day(p.valid_from),
                       "grace_until": format_day(p.grants_until)})
    if alert.kind == AlertKind.EXPIRED:
        return _("%(product)s expired on %(until)s: nobody can use it. Upload a renewed "
                 "license file.") % values
    if alert.kind == AlertKind.IN_GRACE:
        return _("%(product)s expired on %(until)s and is in its grace period: it grants "
                 "access until %(grace_until)s. Upload a renewed license file.") % values
    if alert.kind == AlertKind.OVER_ALLOCATED:
        # Three counts, each agreeing with its own words.
        parts = {
            "product": p.label,
            "holders": ngettext("%(holders)d active user holds it",
                                "%(holders)d active users hold it", p.active_holders) % values,
            "seats": ngettext("it has %(seats)d seat", "it has %(seats)d seats",
                              p.seats or 0) % values,
            "without": ngettext("the most recently granted has no access",
                                "the %(without)d most recently granted have no access",
                                p.without_seat) % values,
        }
        return _("%(product)s is over-allocated: %(holders)s but %(seats)s, so %(without)s. "
                 "Recall it from some users or ask your vendor for more seats.") % parts
    if alert.kind == AlertKind.NOT_YET_VALID:
        return _("%(product)s is not valid before %(from)s.") % values
    if alert.kind == AlertKind.EXPIRING:
        if alert.days == 0:
            return _("%(product)s expires today (%(until)s).") % values
        return ngettext("%(product)s expires in %(days)d day, on %(until)s.",
                        "%(product)s expires in %(days)d days, on %(until)s.",
                        alert.days) % values
    if p.concurrent:  # AlertKind.SEATS
        return ngettext("%(product)s has %(used)d of its %(seats)d concurrent slot in use.",
                        "%(product)s has %(used)d of its %(seats)d concurrent slots in use.",
                        p.seats or 0) % values
    return ngettext("%(product)s uses %(used)d of its %(seats)d seat.",
                    "%(product)s uses %(used)d of its %(seats)d seats.", p.seats or 0) % values


def product_alerts(product: ProductFacts, day: date) -> tuple[Alert, ...]:
    """What to tell managers about one product on ``day``: its dates, then its seats.

    An expired product gets no seat alerts: nobody can use it, so its seats do not matter.
    """
    alerts: list[Alert] = []
    status = product_status(product, day)
    if status == ProductStatus.NOT_YET_VALID:
        alerts.append(Alert(AlertKind.NOT_YET_VALID, product))
    elif status == ProductStatus.EXPIRED:
        return (Alert(AlertKind.EXPIRED, product),)
    elif status == ProductStatus.IN_GRACE:
        alerts.append(Alert(AlertKind.IN_GRACE, product))
    elif product.days_left(day) <= licensing_settings.WARN_DAYS:
        alerts.append(Alert(AlertKind.EXPIRING, product, days=product.days_left(day)))
    if product.over_allocated:
        alerts.append(Alert(AlertKind.OVER_ALLOCATED, product))
    elif product.seats_running_out:
        alerts.append(Alert(AlertKind.SEATS, product))
    return tuple(alerts)


def demo_access(*, deleted: bool) -> DemoAccess:
    """Who reaches the admin in demo mode: ``DEMO_ACCESS`` on a site that never had a license,
    ``DEMO_ACCESS_AFTER_DELETE`` once its licenses were deleted (managers only by default, so
    that deleting the license never opens the admin and its gated features to everyone)."""
    value = (licensing_settings.DEMO_ACCESS_AFTER_DELETE if deleted
             else licensing_settings.DEMO_ACCESS)
    return DemoAccess.ALL if value == DemoAccess.ALL else DemoAccess.MANAGERS


def site_alerts(products: Iterable[ProductFacts], day: date, *,
                demo: bool = False, deleted: bool = False) -> tuple[Alert, ...]:
    """The alerts of the installed products, or the demo-mode alert when none is installed
    (``deleted``: the site had a license, and it was deleted)."""
    if demo:
        kind = (AlertKind.DEMO if demo_access(deleted=deleted) == DemoAccess.ALL
                else AlertKind.DEMO_MANAGERS)
        return (Alert(kind),)
    return tuple(alert for product in products for alert in product_alerts(product, day))
