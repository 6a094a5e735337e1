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

# The comment above each key says what it means: the documentation's settings reference is
# generated from them (docs/_ext/licensing_reference.py), so every key needs one.
DEFAULTS: dict[str, Any] = {
    # Key id -> PEM text of the vendor's Ed25519 public key, or the path of a PEM file. License
    # files name the key that signed them by its id (see the vendor's guide: keys and rotation).
    "VENDOR_PUBLIC_KEYS": {},
    # Company ID prefilled in license requests before a license is installed.
    "COMPANY_ID": "",
    # The version of the site's product the license is for, prefilled as the license version
    # of license requests; empty: the installed license's version.
    "LICENSE_VERSION": "",
    # Also e-mail generated license requests to this address (as an attachment).
    "REQUEST_EMAIL": "",
    # Product codes that open the Wagtail admin; `None`: every named and concurrent product.
    "ADMIN_PRODUCTS": None,
    # With no license installed (demo mode): `"all"` users reach the admin, or only
    # `"managers"`.
    "DEMO_ACCESS": DemoAccess.ALL.value,
    # After the installed licenses were deleted (demo mode on a site that had a license): who
    # reaches the admin, `"managers"` (only license managers, so that deleting the license
    # never opens the admin and its gated features to everyone) or `"all"`.
    "DEMO_ACCESS_AFTER_DELETE": DemoAccess.MANAGERS.value,
    # Feature gating by product: feature name -> `{"products": [...], "admin_url_prefixes":
    # [...], "menu_items": [...], "label": "..."}` (see the administrator's guide: feature
    # gating).
    "FEATURES": {},
    # A concurrent slot is freed after this many minutes without a request (at least 1).
    "CONCURRENT_IDLE_MINUTES": 30,
    # Days after `valid_until` during which a product still grants access.
    "GRACE_DAYS": 0,
    # Warn license managers this many days before a product expires.
    "WARN_DAYS": 30,
    # Warn license managers when this share of a product's seats is used.
    "SEAT_WARNING_THRESHOLD": 0.9,
    # Who unlicensed users should ask, shown on the "No license" page; empty: the license
    # managers' names.
    "LICENSE_CONTACT": "",
    # `manage.py licensing notify` e-mails the license managers this many days before a
    # product expires.
    "NOTIFY_DAYS": [30, 7, 1],
    # Imports match a user cell to a username (exactly, else case-insensitively); `True` also
    # matches e-mail addresses, each such row marked in the preview. Off by default: Wagtail
    # lets users change their own e-mail without verification, so an e-mail is no proof of who
    # an import row means.
    "IMPORT_MATCH_EMAIL": False,
    # Largest assignments file accepted for import, in bytes.
    "IMPORT_MAX_FILE_SIZE": 20 * 1024 * 1024,
    # Most rows accepted in one import.
    "IMPORT_MAX_ROWS": 200_000,
    # The Django cache (an alias of `CACHES`) holding the license-state version and the
    # per-user decisions; one that every process shares applies changes everywhere at once.
    "CACHE_ALIAS": "default",
    # Each process re-reads the licensing state version from the database at most this often
    # (one query), so that a change made in another process applies within this many seconds
    # whatever the cache. 0: re-read it on every request.
    "STATE_RECHECK_SECONDS": 5,
    # Daily usage snapshots (the charts, the usage summary of license requests) are kept this
    # many days.
    "USAGE_RETENTION_DAYS": 730,
    # A holder who has not used a product for this many days holds an idle seat (the License
    # usage report, System users' filter, recalling idle seats).
    "IDLE_DAYS": 60,
    # Recall seats idle this many days automatically, once a day (the first request of the day,
    # or `licensing reclaim`), always after a notice; `None`: never (the default). Seats of
    # license managers and of inactive users are never reclaimed.
    "RECLAIM_IDLE_DAYS": None,
    # With `RECLAIM_IDLE_DAYS` set, e-mail the holder and the license managers this many days
    # before a seat is reclaimed (each notice once; smaller than `RECLAIM_IDLE_DAYS`).
    "RECLAIM_NOTICE_DAYS": 7,
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
