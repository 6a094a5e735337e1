"""E-mail notices to the license managers: before a product expires, when it enters its grace
period, and when its seats run out (or it is over-allocated). Which of these applies comes from
``rules.status``, as for the banner and the dashboard.

``manage.py licensing notify`` sends the notices that are due; run it daily from cron. Each
notice is recorded (``LicenseNotice``) before its e-mails go out, in the same transaction, so a
notice is sent once however often (or however concurrently) the command runs, and a notice
whose e-mails could not be sent is sent again next time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.models import Site

from .conf import licensing_settings
from .dates import format_day, site_today
from .enforcement.responses import license_manager_url, license_managers
from .models import LicenseNotice, LicensingState
from .rules.status import ProductFacts, ProductStatus, product_status
from .status import installed_products

SEATS_KEY = "threshold"
GRACE_KEY = "grace"


@dataclass
class Notice:
    kind: LicenseNotice.Kind
    product: Any  # LicensedProduct annotated with_usage()
    key: str
    days: int | None = None
    status: ProductStatus = ProductStatus.ACTIVE

    @property
    def facts(self) -> ProductFacts:
        return ProductFacts.of(self.product)

    @property
    def in_grace(self) -> bool:
        return self.status == ProductStatus.IN_GRACE

    @property
    def over_allocated(self) -> bool:
        return self.status == ProductStatus.OVER_ALLOCATED

    @property
    def grants_until(self) -> date:
        return self.facts.grants_until

    @property
    def subject(self) -> str:
        facts = self.facts
        values = {"site": site_name(), "product": self.product.name, "days": self.days,
                  "used": self.product.in_use, "seats": self.product.seats,
                  "holders": facts.active_holders,
                  "grace_until": format_day(facts.grants_until)}
        if self.kind == LicenseNotice.Kind.SEATS:
            if self.over_allocated:
                return ngettext("[%(site)s] %(product)s is over-allocated: %(holders)d active "
                                "users hold its %(seats)d seat",
                                "[%(site)s] %(product)s is over-allocated: %(holders)d active "
                                "users hold its %(seats)d seats", values["seats"] or 0) % values
            if facts.concurrent:
                return ngettext("[%(site)s] %(product)s has %(used)d of its %(seats)d "
                                "concurrent slot in use",
                                "[%(site)s] %(product)s has %(used)d of its %(seats)d "
                                "concurrent slots in use", values["seats"] or 0) % values
            return ngettext("[%(site)s] %(product)s uses %(used)d of its %(seats)d seat",
                            "[%(site)s] %(product)s uses %(used)d of its %(seats)d seats",
                            values["seats"] or 0) % values
        if self.in_grace:
            return _("[%(site)s] %(product)s has expired and is in its grace period until "
                     "%(grace_until)s") % values
        if self.days == 0:
            return _("[%(site)s] %(product)s expires today") % values
        return ngettext("[%(site)s] %(product)s expires in %(days)d day",
                        "[%(site)s] %(product)s expires in %(days)d days",
                        self.days or 0) % values

    def body(self) -> str:
        return render_to_string("wagtail_licensing/notices/notice.txt", {
            "notice": self,
            "product": self.product,
            "site_name": site_name(),
            "license_manager_url": absolute_admin_url(license_manager_url()),
            "seat_threshold": round(licensing_settings.SEAT_WARNING_THRESHOLD * 100),
        })

    def describe(self) -> str:
        return f"{self.product.code}: {self.subject}"


@dataclass
class NotifyResult:
    sent: list[Notice] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)  # e-mail addresses
    rearmed: list[str] = field(default_factory=list)  # codes whose seat notice was re-armed
    skipped_no_recipients: list[Notice] = field(default_factory=list)


def site_name() -> str:
    site = Site.objects.filter(is_default_site=True).first()
    return (site.site_name if site and site.site_name else "") or getattr(
        settings, "WAGTAIL_SITE_NAME", "Wagtail")


def absolute_admin_url(path: str) -> str:
    base = getattr(settings, "WAGTAILADMIN_BASE_URL", "") or ""
    return base.rstrip("/") + path if base else path


def due_notices(today: date | None = None) -> tuple[list[Notice], list[str]]:
    """The notices due today that were not sent yet, and the products whose seat usage fell
    back below the threshold (their seat notice may be sent again)."""
    today = today or site_today()
    state = LicensingState.get()
    if state.demo_mode:
        return [], []
    sent = set(LicenseNotice.objects.values_list("kind", "product_code", "key"))
    thresholds = sorted({int(days) for days in licensing_settings.NOTIFY_DAYS})
    due, rearm = [], []
    for product in installed_products(state):
        facts = ProductFacts.of(product)
        status = product_status(facts, today)
        if status == ProductStatus.EXPIRED:
            continue  # nobody can use it: no seats to warn about, and the grace notice went
        expiry = (LicenseNotice.Kind.EXPIRY, product.code)
        if status == ProductStatus.NOT_YET_VALID:
            pass
        elif status == ProductStatus.IN_GRACE:
            key = f"{product.valid_until.isoformat()}:{GRACE_KEY}"
            if (*expiry, key) not in sent:
                due.append(Notice(LicenseNotice.Kind.EXPIRY, product, key,
                                  days=facts.days_left(today), status=status))
        else:
            days = facts.days_left(today)
            reached = [t for t in thresholds if days <= t]
            if reached:
                # Only the nearest: a first run 5 days before expiry sends the 7-day notice.
                key = f"{product.valid_until.isoformat()}:{reached[0]}"
                if (*expiry, key) not in sent:
                    due.append(Notice(LicenseNotice.Kind.EXPIRY, product, key, days=days,
                                      status=status))
        if product.seats:
            seat_key = (LicenseNotice.Kind.SEATS, product.code, SEATS_KEY)
            if facts.over_allocated or facts.seats_running_out:
                if seat_key not in sent:
                    due.append(Notice(LicenseNotice.Kind.SEATS, product, SEATS_KEY,
                                      status=status))
            elif seat_key in sent:
                rearm.append(product.code)
    return due, rearm


def recipients() -> list[str]:
    """E-mail addresses of the active license managers."""
    return sorted({email for email in license_managers().values_list("email", flat=True)
                   if email})


def send_notices(today: date | None = None, *, dry_run: bool = False,
                 connection: Any = None) -> NotifyResult:
    """Send the notices that are due to every license manager; returns a ``NotifyResult``."""
    due, rearm = due_notices(today)
    result = NotifyResult(recipients=recipients(), rearmed=rearm)
    if dry_run:
        result.sent = due
        return result
    if rearm:
        LicenseNotice.objects.filter(kind=LicenseNotice.Kind.SEATS, key=SEATS_KEY,
                                     product_code__in=rearm).delete()
    if not result.recipients:
        result.skipped_no_recipients = due
        return result
    connection = connection or get_connection()
    for notice in due:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    LicenseNotice.objects.create(kind=notice.kind,
                                                 product_code=notice.product.code,
                                                 key=notice.key,
                                                 recipients=", ".join(result.recipients))
            except IntegrityError:
                continue  # another run sent it meanwhile
            body = notice.body()
            # One message per manager: recipients do not see each other's addresses.
            connection.send_messages([EmailMessage(notice.subject, body, to=[address])
                                      for address in result.recipients])
        result.sent.append(notice)
    return result
