"""Banner alerts a license manager has hidden for a day, kept in Wagtail's dismissibles.

Each alert of the banner has a key (its kind and product); the banner's close button is
Wagtail's ``w-dismissible`` controller, which stores ``{key: <when it was shown>}`` in the
user's ``UserProfile.dismissibles`` through Wagtail's own endpoint. An alert stays hidden for
``DISMISSED_FOR`` after that, then comes back if it still holds. Where the banner hides an
alert, the dashboard panel lists it, so that the dashboard says every fact once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..rules.status import Alert

DISMISSED_FOR = timedelta(days=1)
KEY_PREFIX = "wagtail_licensing_alert:"


def alert_key(alert: Alert) -> str:
    """The dismissible's ID of one alert: its kind and product, not its numbers (an alert
    hidden today stays hidden when one more seat is taken)."""
    return f"{KEY_PREFIX}{alert.kind}:{alert.product.code if alert.product else 'site'}"


def dismissed_keys(user: Any, now: datetime | None = None) -> set[str]:
    """Keys of the alerts ``user`` hid less than ``DISMISSED_FOR`` ago. No query: Wagtail's
    admin has read the user's profile already (its theme and density)."""
    profile = getattr(user, "wagtail_userprofile", None)
    dismissibles = getattr(profile, "dismissibles", None) or {}
    since = (now or timezone.now()) - DISMISSED_FOR
    keys = set()
    for key, value in dismissibles.items():
        if not key.startswith(KEY_PREFIX) or not isinstance(value, str):
            continue
        when = parse_datetime(value)
        if when is not None and timezone.is_naive(when):
            when = when.replace(tzinfo=UTC)
        if when is not None and when > since:
            keys.add(key)
    return keys


def split_dismissed(
    alerts: Iterable[Alert], user: Any, now: datetime | None = None
) -> tuple[Sequence[Alert], Sequence[Alert]]:
    """``(shown, hidden)``: the alerts the banner shows, and those ``user`` hid for now."""
    hidden_keys = dismissed_keys(user, now)
    shown: list[Alert] = []
    hidden: list[Alert] = []
    for alert in alerts:
        (hidden if alert_key(alert) in hidden_keys else shown).append(alert)
    return shown, hidden
