"""One settings object: ``settings.WAGTAIL_LICENSING`` merged over ``DEFAULTS``.

Read settings as ``licensing_settings.NAME``; the merged dict is rebuilt when Django's
``setting_changed`` fires (tests use ``override_settings``).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

SETTING_NAME = "WAGTAIL_LICENSING"


class DemoAccess(StrEnum):
    """The values of ``DEMO_ACCESS``: who reaches the admin while no license is installed."""

    ALL = "all"  # every user with admin access, as without this app
    MANAGERS = "managers"  # license managers only

DEFAULTS: dict[str, Any] = {
    # Key id -> PEM text of the vendor's Ed25519 public key, or the path of a PEM file.
    "VENDOR_PUBLIC_KEYS": {},
    # Company ID prefilled in license requests before any license is installed.
    "COMPANY_ID": "",
    # When set, generated license requests are also e-mailed to this address.
    "REQUEST_EMAIL": "",
    # Product codes that open the Wagtail admin; None means every named and concurrent product.
    "ADMIN_PRODUCTS": None,
    # With no license installed (demo mode): "all" users reach the admin, or only "managers".
    "DEMO_ACCESS": DemoAccess.ALL.value,
    # Feature name -> {"products": [...], "admin_url_prefixes": [...], "menu_items": [...]}.
    "FEATURES": {},
    # Minutes without a request after which a concurrent slot is freed.
    "CONCURRENT_IDLE_MINUTES": 30,
    # Days after valid_until during which a product still grants access.
    "GRACE_DAYS": 0,
    # Warn managers this many days before a product expires.
    "WARN_DAYS": 30,
    # Warn managers when this share of a product's seats is used.
    "SEAT_WARNING_THRESHOLD": 0.9,
    # Who unlicensed users should ask; empty: the license managers' names are shown.
    "LICENSE_CONTACT": "",
    # `manage.py licensing notify` e-mails the managers this many days before a product expires.
    "NOTIFY_DAYS": [30, 7, 1],
    # Limits of imported assignment files.
    "IMPORT_MAX_FILE_SIZE": 20 * 1024 * 1024,
    "IMPORT_MAX_ROWS": 200_000,
    # Cache alias holding the license-state version and per-user decisions.
    "CACHE_ALIAS": "default",
    # Each process re-reads the licensing state version from the database at most this often
    # (one query), so that a change made in another process applies within this many seconds
    # whatever the cache. 0: re-read it on every request.
    "STATE_RECHECK_SECONDS": 5,
}


def is_seconds(value: object) -> bool:
    """A number of seconds from 0 up (an int or a float; not a bool, not infinite)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


class LicensingSettings:
    def __init__(self, defaults: dict[str, Any]) -> None:
        self._defaults = defaults
        self._merged: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        user = getattr(settings, SETTING_NAME, None) or {}
        unknown = set(user) - set(self._defaults)
        merged = {**self._defaults, **user}
        merged["_unknown"] = sorted(unknown)
        return merged

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._merged is None:
            self._merged = self._load()
        try:
            return self._merged[name]
        except KeyError:
            raise AttributeError(f"Unknown wagtail-licensing setting {name!r}") from None

    def reload(self) -> None:
        self._merged = None


licensing_settings = LicensingSettings(DEFAULTS)


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        licensing_settings.reload()


setting_changed.connect(_on_setting_changed)
