"""Automatic reclaim of idle seats (off unless ``RECLAIM_IDLE_DAYS`` is set).

Once a day (the first licensing read of the day, right after the usage snapshot, or
``manage.py licensing reclaim`` from cron):

1. Holders who have not used a product for ``RECLAIM_IDLE_DAYS - RECLAIM_NOTICE_DAYS`` days
   get a notice e-mail, and the license managers one list of them; each notice is recorded
   (``LicenseNotice``, kind "reclaim", key: the holder's primary key) before its e-mails go out,
   in the same transaction, as the expiry notices are (``notifications``), so it is sent once.
2. Seats idle ``RECLAIM_IDLE_DAYS`` whose notice went out at least ``RECLAIM_NOTICE_DAYS``
   ago are recalled by one Recall action, audited as automatic. A seat is never reclaimed
   without its notice: a site that turns reclaim on gives everybody the full notice period.
3. A notice whose holder used the product again (or no longer holds it) is re-armed: deleted,
   so that the next idle period gets its own notice.

Never reclaimed: seats of license managers (CanManageLicUsers, superusers included), of
inactive users (they hold no seat), and assignments spared for their source: one selection,
``LicenseAssignment.objects.reclaimable``, read by every step. Every step is a constant
number of queries, whatever the number of holders, but the notices themselves (one e-mail per
holder noticed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import operations
from .actions.idle import installed_codes, manager_users
from .actions.results import RecallResult
from .actions.usage import daily_usage_snapshot_taken
from .conf import DEFAULTS, licensing_settings
from .dates import site_date, site_today
from .enforcement.responses import license_managers
from .models import LicenseAssignment, LicenseNotice, LicensingState
from .notifications import absolute_admin_url, recipients, site_name

logger = logging.getLogger("wagtail_licensing")

RUN_MARKER_CODE = ""
"""The ``LicenseNotice`` row (product code "", key "run") that serialises reclaim runs."""
RUN_MARKER_KEY = "run"
NAMES_IN_MANAGER_NOTICE = 200
PREFERRED_LANGUAGE = "wagtail_userprofile__preferred_language"
"""Wagtail's ``UserProfile.preferred_language``, from the user: the language of their notices."""


@dataclass(frozen=True)
class ReclaimSettings:
    idle_days: int
    notice_days: int

    @property
    def notice_after(self) -> int:
        """Idle this many days: the notice is due."""
        return self.idle_days - self.notice_days


def reclaim_settings() -> ReclaimSettings | None:
    """The reclaim windows, or None when reclaim is off (or its settings are wrong: check
    E050/E051 says so, and nothing is reclaimed until they are fixed)."""
    idle = licensing_settings.RECLAIM_IDLE_DAYS
    notice = licensing_settings.RECLAIM_NOTICE_DAYS
    if type(idle) is not int or idle < 1:
        return None
    if type(notice) is not int or notice < 0:
        notice = DEFAULTS["RECLAIM_NOTICE_DAYS"]
    if notice >= idle:
        return None
    return ReclaimSettings(idle_days=idle, notice_days=notice)


@dataclass
class HolderNotice:
    """One holder told that their seat of one product will be reclaimed."""

    user_pk: Any
    username: str
    email: str
    code: str
    name: str
    idle_since: date | None  # None: never used since the grant
    reclaim_on: date
    language: str = ""  # the holder's preferred language ("" : the site's)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})" if self.name and self.name != self.code \
            else self.code


@dataclass
class ReclaimResult:
    enabled: bool = False
    day: date | None = None
    noticed: list[HolderNotice] = field(default_factory=list)
    manager_recipients: list[str] = field(default_factory=list)
    rearmed: int = 0
    reclaimed: RecallResult = field(default_factory=RecallResult)
    dry_run: bool = False


def _user_key() -> Cast:
    return Cast(OuterRef("user_id"), output_field=CharField())


def reclaimable(codes: list[str], days: int, today: date) -> QuerySet[LicenseAssignment]:
    """Assignments of ``codes`` the automatic reclaim may take once idle ``days``
    (``LicenseAssignment.objects.reclaimable``, sparing the license managers)."""
    return LicenseAssignment.objects.filter(product_code__in=codes).reclaimable(
        days, today, spared_users=manager_users())


def _notices() -> QuerySet[LicenseNotice]:
    return LicenseNotice.objects.filter(kind=LicenseNotice.Kind.RECLAIM).exclude(
        product_code=RUN_MARKER_CODE)


def _notice_of(assignment_ref: str = "product_code") -> QuerySet[LicenseNotice]:
    """The notice of the assignment an outer query names."""
    return _notices().filter(product_code=OuterRef(assignment_ref), key=_user_key())


def _lock_run() -> None:
    """Serialise reclaim runs (two processes on the first request of the day, cron): the
    notices sent are read again under this row lock, so that none goes out twice."""
    LicenseNotice.objects.get_or_create(kind=LicenseNotice.Kind.RECLAIM,
                                        product_code=RUN_MARKER_CODE, key=RUN_MARKER_KEY)
    list(LicenseNotice.objects.select_for_update().filter(
        kind=LicenseNotice.Kind.RECLAIM, product_code=RUN_MARKER_CODE, key=RUN_MARKER_KEY))


def run_reclaim(today: date | None = None, *, dry_run: bool = False,
                connection: Any = None, user: Any = None) -> ReclaimResult:
    """Send the reclaim notices that are due, re-arm those whose holders came back, and
    recall the seats whose notice period is over."""
    config = reclaim_settings()
    today = today or site_today()
    result = ReclaimResult(enabled=config is not None, day=today, dry_run=dry_run)
    if config is None or LicensingState.get().demo_mode:
        return result
    names = installed_codes()
    codes = list(names)
    if not codes:
        return result
    with transaction.atomic():
        if not dry_run:
            _lock_run()
        # 1. The notices due.
        due = _due_notices(codes, names, config, today)
        result.noticed = due
        result.manager_recipients = recipients()
        if due and not dry_run:
            now = timezone.now()
            LicenseNotice.objects.bulk_create([
                LicenseNotice(kind=LicenseNotice.Kind.RECLAIM, product_code=n.code,
                              key=str(n.user_pk), sent_at=now,
                              recipients=", ".join(filter(None, [n.email])))
                for n in due], ignore_conflicts=True)
            _send(due, result.manager_recipients, connection)
        if not dry_run:
            # 2. Reclaim the seats whose notice period is over.
            result.reclaimed = _reclaim(codes, config, today, user=user)
            # 3. Re-arm: the holder used the product again, or no longer holds it (it was
            # just reclaimed, say): their next idle period gets its own notice.
            still_idle = reclaimable(codes, config.notice_after, today).filter(
                product_code=OuterRef("product_code")).annotate(
                key_value=Cast("user_id", output_field=CharField())).filter(
                key_value=OuterRef("key"))
            result.rearmed, _ = _notices().exclude(Exists(still_idle)).delete()
    return result


def _due_notices(codes: list[str], names: dict[str, str], config: ReclaimSettings,
                 today: date) -> list[HolderNotice]:
    User = get_user_model()
    username = f"user__{User.USERNAME_FIELD}"
    email = f"user__{User.get_email_field_name()}"
    rows = (reclaimable(codes, config.notice_after, today)
            .exclude(Exists(_notice_of()))
            .order_by(username, "product_code")
            .values_list("user_id", username, email, "product_code", "last_active_on",
                         "granted_at", f"user__{PREFERRED_LANGUAGE}"))
    notices = []
    for user_pk, name, address, code, last_active, granted_at, language in rows:
        since = last_active or site_date(granted_at)
        reclaim_on = max(since + timedelta(days=config.idle_days + 1),
                         today + timedelta(days=config.notice_days))
        notices.append(HolderNotice(user_pk=user_pk, username=name, email=address or "",
                                    code=code, name=names.get(code) or code,
                                    idle_since=last_active, reclaim_on=reclaim_on,
                                    language=language or ""))
    return notices


def _reclaim(codes: list[str], config: ReclaimSettings, today: date, *,
             user: Any = None) -> RecallResult:
    # Noticed on a day up to RECLAIM_NOTICE_DAYS ago (today itself when it is 0).
    noticed_before = datetime.combine(today - timedelta(days=config.notice_days - 1),
                                      time.min, tzinfo=timezone.get_default_timezone())
    served = _notices().filter(product_code=OuterRef("product_code"), key=_user_key(),
                               sent_at__lt=noticed_before)
    # Spared: what the reclaim's one selection leaves out, and seats whose notice period is
    # not over.
    spared = ~Q(pk__in=reclaimable(codes, config.idle_days, today).values("pk")) | ~Exists(served)
    return operations.reclaim_idle_seats(codes, days=config.idle_days, spared=spared,
                                         user=user)


def notice_language(preferred: str | None) -> str:
    """The language of a notice: the recipient's preferred language (Wagtail's account
    setting) when the site offers it, else ``settings.LANGUAGE_CODE``."""
    if preferred:
        try:
            return translation.get_supported_language_variant(preferred)
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


def manager_languages() -> dict[str, str]:
    """E-mail address -> notice language of the active license managers (one query)."""
    languages: dict[str, str] = {}
    for address, preferred in license_managers().order_by("pk").values_list(
            "email", PREFERRED_LANGUAGE):
        if address:
            languages.setdefault(address, notice_language(preferred))
    return languages


def _send(due: list[HolderNotice], managers: list[str], connection: Any) -> None:
    connection = connection or get_connection()
    site = site_name()
    url = absolute_admin_url("/")
    messages: list[EmailMessage] = []
    by_holder: dict[Any, list[HolderNotice]] = {}
    for notice in due:
        by_holder.setdefault(notice.user_pk, []).append(notice)
    for notices in by_holder.values():
        if not notices[0].email:
            continue
        # Each holder reads their notice in their own language. One product is named; several
        # are counted (a plural form of its own, not the singular's: the singular names no number).
        with translation.override(notice_language(notices[0].language)):
            if len(notices) == 1:
                subject = _("[%(site)s] Your license for %(product)s will be recalled") % {
                    "site": site, "product": notices[0].label}
            else:
                subject = ngettext(
                    "[%(site)s] Your license for %(count)d product will be recalled",
                    "[%(site)s] Your licenses for %(count)d products will be recalled",
                    len(notices)) % {"site": site, "count": len(notices)}
            body = render_to_string("wagtail_licensing/notices/reclaim_holder.txt", {
                "notices": notices, "site_name": site, "admin_url": url})
        messages.append(EmailMessage(subject, body, to=[notices[0].email]))
    if managers:
        languages = manager_languages()
        report_url = absolute_admin_url(_report_path())
        rendered: dict[str, tuple[str, str]] = {}  # language -> (subject, body)
        for address in managers:
            language = languages.get(address, settings.LANGUAGE_CODE)
            if language not in rendered:
                with translation.override(language):
                    subject = ngettext("[%(site)s] %(count)d idle seat will be reclaimed",
                                       "[%(site)s] %(count)d idle seats will be reclaimed",
                                       len(due)) % {"site": site, "count": len(due)}
                    body = render_to_string("wagtail_licensing/notices/reclaim_managers.txt", {
                        "notices": due[:NAMES_IN_MANAGER_NOTICE],
                        "more": max(len(due) - NAMES_IN_MANAGER_NOTICE, 0),
                        "site_name": site, "report_url": report_url})
                rendered[language] = (subject, body)
            # One message per manager: recipients do not see each other's addresses.
            messages.append(EmailMessage(*rendered[language], to=[address]))
    if messages:
        connection.send_messages(messages)


def _report_path() -> str:
    return reverse("wagtail_licensing_usage_report:index")


def describe(result: ReclaimResult) -> list[str]:
    """Lines for the command (one per notice and product reclaimed)."""
    lines = [_("  notice: %(user)s, %(product)s, reclaimed on %(day)s") % {
        "user": n.username, "product": n.label, "day": n.reclaim_on.isoformat()}
        for n in result.noticed]
    lines += [_("  reclaimed: %(product)s from %(users)s") % {
        "product": result.reclaimed.label(code), "users": ", ".join(users)}
        for code, users in result.reclaimed.recalled.items()]
    return lines


def on_daily_snapshot(sender: Any, day: date, **kwargs: Any) -> None:
    """The daily hook: reclaim right after the day's usage snapshot. On the request path, so
    a failure (the mail server is down, say) is logged, never raised; the notices and the
    reclaim are tried again by the next day's run, or by ``manage.py licensing reclaim``."""
    if reclaim_settings() is None:
        return
    try:
        run_reclaim(day)
    except Exception:
        logger.exception("The automatic reclaim of idle seats failed")


def connect() -> None:
    daily_usage_snapshot_taken.connect(on_daily_snapshot,
                                       dispatch_uid="wagtail_licensing.reclaim")
