"""E-mail notices to the license managers, before a product expires and when its seats run out.

``manage.py licensing notify`` sends the notices that are due; run it daily from cron. Each
notice is recorded (``LicenseNotice``) before its e-mails go out, in the same transaction, so a
notice is sent once however often (or however concurrently) the command runs, and a notice
whose e-mails could not be sent is sent again next time.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .conf import licensing_settings
from .dates import site_today
from .enforcement import license_manager_url, license_managers
from .models import LicenseNotice, LicensingState, ProductType
from .status import installed_products

SEATS_KEY = "threshold"


@dataclass
class Notice:
    kind: str
    product: object  # LicensedProduct annotated with_usage()
    key: str
    days: int | None = None

    @property
    def subject(self):
        values = {"site": site_name(), "product": self.product.name, "days": self.days,
                  "used": self.product.in_use, "seats": self.product.seats}
        if self.kind == LicenseNotice.Kind.SEATS:
            if self.product.type == ProductType.CONCURRENT:
                return _("[%(site)s] %(product)s has %(used)d of its %(seats)d concurrent "
                         "slots in use") % values
            return _("[%(site)s] %(product)s uses %(used)d of its %(seats)d seats") % values
        if self.days == 0:
            return _("[%(site)s] %(product)s expires today") % values
        return ngettext("[%(site)s] %(product)s expires in %(days)d day",
                        "[%(site)s] %(product)s expires in %(days)d days", self.days) % values

    def body(self):
        return render_to_string("wagtail_licensing/notices/notice.txt", {
            "notice": self,
            "product": self.product,
            "site_name": site_name(),
            "license_manager_url": absolute_admin_url(license_manager_url()),
            "seat_threshold": round(licensing_settings.SEAT_WARNING_THRESHOLD * 100),
        })

    def describe(self):
        return f"{self.product.code}: {self.subject}"


@dataclass
class NotifyResult:
    sent: list = field(default_factory=list)  # Notice
    recipients: list = field(default_factory=list)  # e-mail addresses
    rearmed: list = field(default_factory=list)  # product codes whose seat notice was re-armed
    skipped_no_recipients: list = field(default_factory=list)  # Notice


def site_name():
    from wagtail.models import Site

    site = Site.objects.filter(is_default_site=True).first()
    return (site.site_name if site and site.site_name else "") or getattr(
        settings, "WAGTAIL_SITE_NAME", "Wagtail")


def absolute_admin_url(path):
    base = getattr(settings, "WAGTAILADMIN_BASE_URL", "") or ""
    return base.rstrip("/") + path if base else path


def due_notices(today=None):
    """The notices due today that were not sent yet, and the products whose seat usage fell
    back below the threshold (their seat notice may be sent again)."""
    today = today or site_today()
    state = LicensingState.get()
    if state.demo_mode:
        return [], []
    sent = set(LicenseNotice.objects.values_list("kind", "product_code", "key"))
    thresholds = sorted({int(days) for days in licensing_settings.NOTIFY_DAYS})
    ratio = licensing_settings.SEAT_WARNING_THRESHOLD
    due, rearm = [], []
    for product in installed_products(state):
        days = (product.valid_until - today).days
        if product.valid_from <= today and days >= 0:
            reached = [t for t in thresholds if days <= t]
            if reached:
                # Only the nearest: a first run 5 days before expiry sends the 7-day notice.
                key = f"{product.valid_until.isoformat()}:{reached[0]}"
                if (LicenseNotice.Kind.EXPIRY, product.code, key) not in sent:
                    due.append(Notice(LicenseNotice.Kind.EXPIRY, product, key, days=days))
        if product.seats:
            seat_key = (LicenseNotice.Kind.SEATS, product.code, SEATS_KEY)
            if product.in_use >= ratio * product.seats:
                if seat_key not in sent:
                    due.append(Notice(LicenseNotice.Kind.SEATS, product, SEATS_KEY))
            elif seat_key in sent:
                rearm.append(product.code)
    return due, rearm


def recipients():
    """E-mail addresses of the active license managers."""
    return sorted({email for email in license_managers().values_list("email", flat=True)
                   if email})


def send_notices(today=None, *, dry_run=False, connection=None):
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

