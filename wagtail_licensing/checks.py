"""System checks with stable IDs (documented in the README)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from . import keys
from .conf import DEFAULTS, DemoAccess, is_seconds, licensing_settings


@register(Tags.security)
def check_vendor_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    configured = licensing_settings.VENDOR_PUBLIC_KEYS or {}
    if not configured:
        messages.append(Warning(
            "No vendor public key is configured, so no license file can be verified or "
            "installed.",
            hint="Add the vendor's Ed25519 public key to WAGTAIL_LICENSING['VENDOR_PUBLIC_KEYS'] "
                 "as {'key id': 'PEM text or path to a .pem file'}.",
            id="wagtail_licensing.W001",
        ))
        return messages
    _loaded, errors = keys.load_all()
    for kid, error in sorted(errors.items()):
        messages.append(Error(
            f"The vendor public key {kid!r} cannot be used: {error}.",
            hint="Fix the PEM text or the path in WAGTAIL_LICENSING['VENDOR_PUBLIC_KEYS'].",
            id="wagtail_licensing.E002",
        ))
    return messages


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if licensing_settings.DEMO_ACCESS not in tuple(DemoAccess):
        messages.append(Error(
            f"WAGTAIL_LICENSING['DEMO_ACCESS'] is {licensing_settings.DEMO_ACCESS!r}.",
            hint="Use 'all' or 'managers'.",
            id="wagtail_licensing.E003",
        ))
    for name in licensing_settings._unknown:
        messages.append(Warning(
            f"WAGTAIL_LICENSING has an unknown key {name!r}.",
            hint="Known keys: " + ", ".join(sorted(DEFAULTS)) + ".",
            id="wagtail_licensing.W004",
        ))
    for name in ("GRACE_DAYS", "WARN_DAYS", "CONCURRENT_IDLE_MINUTES"):
        value = getattr(licensing_settings, name)
        if type(value) is not int or value < 0:
            messages.append(Error(
                f"WAGTAIL_LICENSING[{name!r}] must be a whole number from 0 up, not {value!r}.",
                id="wagtail_licensing.E005",
            ))
    recheck = licensing_settings.STATE_RECHECK_SECONDS
    if not is_seconds(recheck):
        messages.append(Error(
            f"WAGTAIL_LICENSING['STATE_RECHECK_SECONDS'] must be a number of seconds from 0 up, "
            f"not {recheck!r}.",
            hint=f"The default is {DEFAULTS['STATE_RECHECK_SECONDS']}; 0 re-reads the licensing "
                 "state on every request. Until fixed, the default is used.",
            id="wagtail_licensing.E017",
        ))
    return messages


ENFORCEMENT_MIDDLEWARE = "wagtail_licensing.middleware.LicenseEnforcementMiddleware"
MIDDLEWARE_BEFORE = ("django.contrib.auth.middleware.AuthenticationMiddleware",
                     "django.contrib.messages.middleware.MessageMiddleware")
FEATURE_KEYS = {"products", "admin_url_prefixes", "menu_items", "label"}


def _is_list_of(value: object, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(item, kind) for item in value)


@register(Tags.security)
def check_enforcement(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Enforcement: the middleware is installed in the right place; FEATURES, ADMIN_PRODUCTS
    and NOTIFY_DAYS are well-formed."""
    messages: list[CheckMessage] = []
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if ENFORCEMENT_MIDDLEWARE not in middleware:
        messages.append(Warning(
            "LicenseEnforcementMiddleware is not installed, so licenses are not enforced in "
            "the admin.",
            hint=f"Add {ENFORCEMENT_MIDDLEWARE!r} to MIDDLEWARE, after "
                 "AuthenticationMiddleware and MessageMiddleware.",
            id="wagtail_licensing.W010",
        ))
    else:
        position = middleware.index(ENFORCEMENT_MIDDLEWARE)
        for required in MIDDLEWARE_BEFORE:
            if required not in middleware[:position]:
                messages.append(Error(
                    f"LicenseEnforcementMiddleware needs {required} before it in MIDDLEWARE.",
                    id="wagtail_licensing.E011",
                ))
    features = licensing_settings.FEATURES
    if not isinstance(features, dict):
        messages.append(Error(
            "WAGTAIL_LICENSING['FEATURES'] must be a dict of feature name -> settings.",
            id="wagtail_licensing.E012",
        ))
    else:
        for name, spec in features.items():
            problem = None
            if not isinstance(spec, dict):
                problem = "is not a dict"
            elif set(spec) - FEATURE_KEYS:
                problem = "has unknown keys " + ", ".join(sorted(set(spec) - FEATURE_KEYS))
            elif not spec.get("products") or not _is_list_of(spec["products"], str):
                problem = "needs 'products', a list of product codes"
            elif not all(_is_list_of(spec.get(key, []), str)
                         for key in ("admin_url_prefixes", "menu_items")):
                problem = "needs lists of strings in 'admin_url_prefixes' and 'menu_items'"
            elif not all(prefix.startswith("/") for prefix in spec.get("admin_url_prefixes", [])):
                problem = "has an admin URL prefix that does not start with '/'"
            if problem:
                messages.append(Error(
                    f"WAGTAIL_LICENSING['FEATURES'][{name!r}] {problem}.",
                    hint="Example: {'forms': {'products': ['cms-marketing'], "
                         "'admin_url_prefixes': ['/admin/forms/'], 'menu_items': ['forms']}}",
                    id="wagtail_licensing.E012",
                ))
    admin_products = licensing_settings.ADMIN_PRODUCTS
    if admin_products is not None and not _is_list_of(admin_products, str):
        messages.append(Error(
            f"WAGTAIL_LICENSING['ADMIN_PRODUCTS'] must be None or a list of product codes, not "
            f"{admin_products!r}.",
            id="wagtail_licensing.E013",
        ))
    if licensing_settings.CONCURRENT_IDLE_MINUTES == 0:
        messages.append(Error(
            "WAGTAIL_LICENSING['CONCURRENT_IDLE_MINUTES'] is 0: every concurrent slot would "
            "count as idle at once.",
            hint="Use at least 1 (the default is 30 minutes).",
            id="wagtail_licensing.E016",
        ))
    notify_days = licensing_settings.NOTIFY_DAYS
    if not _is_list_of(notify_days, int) or any(days < 0 for days in notify_days):
        messages.append(Error(
            f"WAGTAIL_LICENSING['NOTIFY_DAYS'] must be a list of whole numbers of days from 0 "
            f"up, not {notify_days!r}.",
            id="wagtail_licensing.E014",
        ))
    return messages


@register()
def check_app_order(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """System users (issue 4): the Licenses tab and the filtered bulk actions of Settings >
    Users come from templates that override Wagtail's, so this app must come first."""
    labels = [config.label for config in apps.get_app_configs()]
    if "wagtailusers" in labels and labels.index("wagtail_licensing") > labels.index(
            "wagtailusers"):
        return [Warning(
            "'wagtail_licensing' comes after 'wagtail.users' in INSTALLED_APPS, so Settings > "
            "Users shows neither the Licenses tab nor the license bulk actions' permission "
            "check.",
            hint="Move 'wagtail_licensing' above the Wagtail apps in INSTALLED_APPS.",
            id="wagtail_licensing.W020",
        )]
    return []


PROCESS_LOCAL_CACHES = ("django.core.cache.backends.locmem.LocMemCache",
                        "django.core.cache.backends.dummy.DummyCache")


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: with several processes, the license check works best with a cache
    that they share."""
    alias = licensing_settings.CACHE_ALIAS
    backend = (getattr(settings, "CACHES", {}).get(alias) or {}).get("BACKEND", "")
    if backend in PROCESS_LOCAL_CACHES:
        return [Warning(
            f"The cache {alias!r} that wagtail-licensing keeps its per-user decisions in is "
            f"{backend.rsplit('.', 1)[-1]}, which processes do not share: with several worker "
            "processes, a change made in one reaches the others only when they re-read the "
            "licensing state (every STATE_RECHECK_SECONDS), each works every decision out on "
            "its own, and a session whose concurrent slot a manager released is given another "
            "slot rather than signed out when its next request reaches another process.",
            hint="Use Redis, Memcached or the database cache for this alias (or name another "
                 "one in WAGTAIL_LICENSING['CACHE_ALIAS']). One process (runserver) needs none.",
            id="wagtail_licensing.W015",
        )]
    return []
