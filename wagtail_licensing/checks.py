"""System checks with stable IDs.

``SUMMARIES`` says in a line what each ID means; the documentation's table of system checks is
generated from it and from the checks below (which level, plain ``check`` or ``--deploy``), and
a test makes sure that it names exactly the IDs used here.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import FieldDoesNotExist

from . import keys
from .conf import DEFAULTS, DemoAccess, is_seconds, licensing_settings

SUMMARIES = {
    "wagtail_licensing.W001": "No vendor public key is configured: no license file can be "
                              "installed.",
    "wagtail_licensing.E002": "A configured public key cannot be read or is not an Ed25519 PEM "
                              "key.",
    "wagtail_licensing.E003": "`DEMO_ACCESS` or `DEMO_ACCESS_AFTER_DELETE` is not `\"all\"` or "
                              "`\"managers\"`.",
    "wagtail_licensing.W004": "`WAGTAIL_LICENSING` has an unknown key (a typo?).",
    "wagtail_licensing.E005": "A day or minute count is not a whole number from 0 up.",
    "wagtail_licensing.W010": "`LicenseEnforcementMiddleware` is not in `MIDDLEWARE`: licenses "
                              "are not enforced in the admin.",
    "wagtail_licensing.E011": "The middleware comes before `AuthenticationMiddleware` or "
                              "`MessageMiddleware`.",
    "wagtail_licensing.E012": "`FEATURES` is malformed (each feature needs `products`; lists of "
                              "strings; URL prefixes start with `/`).",
    "wagtail_licensing.E013": "`ADMIN_PRODUCTS` is neither `None` nor a list of product codes.",
    "wagtail_licensing.E014": "`NOTIFY_DAYS` is not a list of whole numbers of days from 0 up.",
    "wagtail_licensing.W015": "The `CACHE_ALIAS` cache is `LocMemCache`, which each process "
                              "keeps to itself: with several processes or hosts, a change made "
                              "in one reaches the others within `STATE_RECHECK_SECONDS` rather "
                              "than at once, and each works every decision out on its own.",
    "wagtail_licensing.E016": "`CONCURRENT_IDLE_MINUTES` is 0 (at least 1).",
    "wagtail_licensing.E017": "`STATE_RECHECK_SECONDS` is not a number of seconds from 0 up "
                              "(the default is used meanwhile).",
    "wagtail_licensing.E018": "`CACHE_ALIAS` names no cache in `CACHES`: every admin request "
                              "would fail.",
    "wagtail_licensing.W019": "The `CACHE_ALIAS` cache is `DummyCache`, which keeps nothing: "
                              "every admin request reads the licensing state and works its "
                              "decision out from the database.",
    "wagtail_licensing.W020": "`wagtail_licensing` comes after `wagtail.users` in "
                              "`INSTALLED_APPS`: no Licenses tab in Settings > Users.",
    "wagtail_licensing.W060": "PostgreSQL, many users and no search indexes: each search of "
                              "users reads every user (`licensing search-indexes`). Runs with "
                              "`check --deploy --database default`.",
    "wagtail_licensing.W070": "The user model has no `groups` relation (no `PermissionsMixin`): "
                              "group-based licensing cannot work.",
    "wagtail_licensing.E070": "The user model's `groups` is not a many-to-many relation to "
                              "`auth.Group`: group-based licensing would read the wrong "
                              "memberships.",
    "wagtail_licensing.E050": "`USAGE_RETENTION_DAYS`, `IDLE_DAYS` or `RECLAIM_NOTICE_DAYS` is "
                              "not a whole number of days from 1 up (0 from 0 up for the "
                              "notice), or `RECLAIM_IDLE_DAYS` is neither `None` nor one.",
    "wagtail_licensing.E051": "`RECLAIM_NOTICE_DAYS` is not smaller than `RECLAIM_IDLE_DAYS`: "
                              "no notice could be sent before a seat is reclaimed.",
}


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
    for name in ("DEMO_ACCESS", "DEMO_ACCESS_AFTER_DELETE"):
        value = getattr(licensing_settings, name)
        if value not in tuple(DemoAccess):
            messages.append(Error(
                f"WAGTAIL_LICENSING[{name!r}] is {value!r}.",
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


def _is_days(value: object, minimum: int = 1) -> bool:
    return type(value) is int and value >= minimum


@register()
def check_usage_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The usage history, idle and reclaim windows (E050, E051)."""
    messages: list[CheckMessage] = []
    wrong = [name for name in ("USAGE_RETENTION_DAYS", "IDLE_DAYS")
             if not _is_days(getattr(licensing_settings, name))]
    if not _is_days(licensing_settings.RECLAIM_NOTICE_DAYS, 0):
        wrong.append("RECLAIM_NOTICE_DAYS")
    reclaim = licensing_settings.RECLAIM_IDLE_DAYS
    if reclaim is not None and not _is_days(reclaim):
        wrong.append("RECLAIM_IDLE_DAYS")
    for name in wrong:
        messages.append(Error(
            f"WAGTAIL_LICENSING[{name!r}] must be a whole number of days, not "
            f"{getattr(licensing_settings, name)!r}.",
            hint=f"The default is {DEFAULTS[name]!r}.",
            id="wagtail_licensing.E050",
        ))
    notice = licensing_settings.RECLAIM_NOTICE_DAYS
    if (not wrong and reclaim is not None and notice >= reclaim):
        messages.append(Error(
            f"WAGTAIL_LICENSING['RECLAIM_NOTICE_DAYS'] ({notice}) must be smaller than "
            f"RECLAIM_IDLE_DAYS ({reclaim}).",
            hint="Holders are told RECLAIM_NOTICE_DAYS before their seat is reclaimed, so "
                 "the notice must come after the seat became idle.",
            id="wagtail_licensing.E051",
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


LOCMEM_CACHE = "django.core.cache.backends.locmem.LocMemCache"
DUMMY_CACHE = "django.core.cache.backends.dummy.DummyCache"


def _cache_backend() -> tuple[str, str | None]:
    """``CACHE_ALIAS`` and its backend's dotted path (None: no such cache)."""
    alias = licensing_settings.CACHE_ALIAS
    config = (getattr(settings, "CACHES", None) or {}).get(alias)
    return alias, None if config is None else str(config.get("BACKEND", ""))


@register(Tags.caches)
def check_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """What the licensing cache can and cannot do whatever the number of processes: no cache
    at all is an error, and a cache that keeps nothing loses the released-slot markers."""
    alias, backend = _cache_backend()
    if backend is None:
        return [Error(
            f"WAGTAIL_LICENSING['CACHE_ALIAS'] is {alias!r}, which is not a cache in CACHES: "
            "every request that wagtail-licensing checks would fail.",
            hint="Name one of the aliases of CACHES, or add this one.",
            id="wagtail_licensing.E018",
        )]
    if backend == DUMMY_CACHE:
        return [Warning(
            f"The cache {alias!r} that wagtail-licensing keeps its state version and per-user "
            "decisions in is DummyCache, which keeps nothing: every admin request reads the "
            "licensing state and works its decision out from the database, and releasing a "
            "concurrent slot (Licensing > Concurrent sessions) cannot sign its session out: "
            "the session takes another free slot on its next request.",
            hint="Use LocMemCache for a single process (runserver), or a cache every process "
                 "shares (Redis, Memcached, the database cache).",
            id="wagtail_licensing.W019",
        )]
    return []


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: production runs several processes, which a LocMemCache does not
    connect. Changes still reach every process (``STATE_RECHECK_SECONDS``), so this warns only
    of what a shared cache does better; one process (runserver) needs none."""
    alias, backend = _cache_backend()
    if backend != LOCMEM_CACHE:
        return []
    seconds = licensing_settings.STATE_RECHECK_SECONDS
    if not is_seconds(seconds):
        seconds = DEFAULTS["STATE_RECHECK_SECONDS"]
    reach = (f"within {seconds:g} seconds (STATE_RECHECK_SECONDS) rather than at once" if seconds
             else "on their next request, at the cost of one query per request "
                  "(STATE_RECHECK_SECONDS is 0)")
    return [Warning(
        f"The cache {alias!r} that wagtail-licensing keeps its state version and per-user "
        "decisions in is LocMemCache, which each process keeps to itself. With several worker "
        f"processes or hosts, a licensing change made in one reaches the others {reach}; each "
        "process works every decision out on its own; and a session whose concurrent slot a "
        "license manager released is given another free slot, not signed out, when its next "
        "request reaches another process than the one that released it.",
        hint="Use Redis, Memcached or the database cache for this alias (or name another one "
             "in WAGTAIL_LICENSING['CACHE_ALIAS']). One process (runserver) needs none.",
        id="wagtail_licensing.W015",
    )]


#: From how many users (PostgreSQL's estimate) W060 suggests the search indexes: below it, a
#: search reads every user in a few milliseconds.
SEARCH_INDEX_USERS = 50_000


@register(Tags.database, deploy=True)
def check_search_indexes(app_configs: Any = None, databases: Any = None,
                         **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy --database default``: on PostgreSQL, with many users and without the
    trigram indexes of ``licensing search-indexes``, counting a search's matches reads every
    user. A database check: Django runs it only for the databases named."""
    # Imported here: the documentation reads this module without Django set up.
    from django.db import DatabaseError

    from . import search_indexes

    found: list[CheckMessage] = []
    for alias in databases or ():
        if not search_indexes.supported(alias):
            continue
        try:
            users = search_indexes.estimated_users(alias)
            absent = search_indexes.missing(alias) if users else []
        except DatabaseError:
            continue  # not migrated yet, or unreachable: other checks say so
        if users is None or users < SEARCH_INDEX_USERS or not absent:
            continue
        found.append(Warning(
            f"About {users:,} users on the PostgreSQL database {alias!r}, without the trigram "
            "indexes wagtail-licensing can create for searching them: every search of System "
            "users, a product's holders, Add users and Settings > Users reads every user to "
            "count its matches.",
            hint=f"Run `manage.py licensing search-indexes --database {alias}` (concurrent: "
                 "users can be saved meanwhile). See the deployment guide, \"Searching many "
                 "users on PostgreSQL\".",
            id="wagtail_licensing.W060",
        ))
    return found


@register()
def check_group_licensing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Group-based licensing binds products to ``auth.Group`` (``GroupLicense.group``) and
    follows the user model's ``groups`` membership table: a user model without it (an
    ``AbstractBaseUser`` without ``PermissionsMixin``) cannot have members to seat, and one whose
    ``groups`` leads elsewhere would seat the members of other groups."""
    # Imported here: the documentation reads this module without Django set up.
    from django.contrib.auth.models import Group

    User = get_user_model()
    label = User._meta.label
    try:
        field = User._meta.get_field("groups")
    except FieldDoesNotExist:
        return [Warning(
            f"The user model {label} has no 'groups' relation, so group-based licensing cannot "
            "work: products bound to groups (Licensing > Groups, 'licensing groups bind') have "
            "no members to seat, and no membership change is followed. Licenses can still be "
            "granted to users directly.",
            hint="Add django.contrib.auth.models.PermissionsMixin to the user model (as "
                 "Wagtail's users and groups expect), or leave group licensing unused and "
                 "silence this warning.",
            id="wagtail_licensing.W070",
        )]
    if not field.many_to_many or field.related_model is not Group:
        target = getattr(field.related_model, "_meta", None)
        target_label = target.label if target is not None else "no model"
        return [Error(
            f"The user model {label}'s 'groups' field relates to {target_label}, not to "
            "auth.Group through a many-to-many relation: group-based licensing binds products "
            "to auth.Group and reads the members of 'groups', so it would seat the members of "
            "other groups than those bound.",
            hint="Make 'groups' a ManyToManyField to django.contrib.auth.models.Group (as "
                 "PermissionsMixin does).",
            id="wagtail_licensing.E070",
        )]
    return []
