"""Licensing days are the site's days: ``TIME_ZONE``, whatever time zone a request activated.

Validity dates are inclusive calendar dates, so granting, previews, status tags and enforcement
must all agree on what "today" is; Wagtail activates each admin user's own time zone, which
would otherwise move the end of a product's last day from one manager to the next.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import formats, timezone


def site_today() -> date:
    """Today in the site's time zone (``TIME_ZONE``)."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def site_date(value: datetime) -> date:
    """The site's calendar date of an aware datetime."""
    return timezone.localdate(value, timezone=timezone.get_default_timezone())


def seconds_until_midnight(now: datetime | None = None) -> int:
    """Seconds until the next local midnight of the site: cache entries expire with the day."""
    tz = timezone.get_default_timezone()
    now = (now or timezone.now()).astimezone(tz)
    midnight = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=tz)
    return max(int((midnight - now).total_seconds()), 1)


def format_day(value: date | None) -> str:
    """A calendar date in the admin's date format (``DATE_FORMAT``, localised), for messages:
    never the ISO form ``str(date)`` would give. Empty for no date."""
    return formats.date_format(value, "DATE_FORMAT") if value else ""


def format_moment(value: datetime) -> str:
    """An aware datetime in the admin's format (``DATETIME_FORMAT``, localised), in the active
    time zone (Wagtail activates each admin user's own), for messages."""
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
