"""The license check: who may use the admin, and which features, decided once and cached.

A user's ``Access`` is worked out from the database on a miss and kept in Django's cache
(``CACHE_ALIAS``) together with the *stamp* it was computed for:

- the license-state version, which every grant, recall, upload, delete and user status change
  bumps (operations publish it to the cache after commit),
- a site-wide token and a per-user token, renewed after commit when groups, permissions, a user
  account or its portal marker change (``signal handlers`` below),
- the site's date (``TIME_ZONE``), so that validity dates and ``GRACE_DAYS`` take effect at local
  midnight without any change of state,
- a fingerprint of the settings, so that a deploy with new settings never reuses old decisions.

The stamp parts and the user's entry are read with one ``get_many``: a warm check costs one cache
round trip and no database query. An entry with another stamp is recomputed, so with a cache
shared by every process (Redis or Memcached through Django's cache framework) a change takes
effect on the next request everywhere.
"""

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import FieldError
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponseForbidden
from django.urls import reverse
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import __version__
from .cache import VERSION_KEY, get_cache
from .conf import licensing_settings
from .dates import seconds_until_midnight, site_today
from .models import (
    MANAGE_PERMISSION,
    LicenseAssignment,
    LicensedProduct,
    LicensingState,
    PortalUser,
    ProductType,
)
from .permissions import can_manage_licenses

# What a user may do in the admin.
ADMIN_FULL = "full"  # the whole admin (feature gating aside)
ADMIN_CONCURRENT = "concurrent"  # the whole admin while the session holds a concurrent slot
ADMIN_LICENSING = "licensing"  # a license manager without a license: licensing screens only
ADMIN_DENIED = "denied"  # kept out with the "no license" page
ADMIN_NOT_ADMIN = "not_admin"  # no admin access permission at all: Wagtail itself refuses

# Why a user is denied (or limited to the licensing screens).
REASON_UNLICENSED = "unlicensed"
REASON_PORTAL = "portal"
REASON_DEMO = "demo"  # demo mode with DEMO_ACCESS "managers"

GLOBAL_TOKEN_KEY = "wagtail_licensing:auth-token"  # noqa: S105 - a cache key
_KEY_PREFIX = f"wagtail_licensing:{__version__}"
USER_TOKEN_TIMEOUT = 7 * 24 * 3600


def user_token_key(user_pk):
    return f"wagtail_licensing:user-token:{user_pk}"


def access_key(user_pk):
    return f"{_KEY_PREFIX}:access:{user_pk}"


def site_key(version, day, fingerprint):
    return f"{_KEY_PREFIX}:site:{fingerprint}:{version}:{day.isoformat()}"


# Time -----------------------------------------------------------------------------------------


# Settings -------------------------------------------------------------------------------------

_fingerprint = None


def settings_fingerprint():
    """A short hash of the settings decisions depend on (recomputed when settings change)."""
    global _fingerprint
    if _fingerprint is None:
        relevant = [repr(getattr(licensing_settings, name)) for name in (
            "ADMIN_PRODUCTS", "DEMO_ACCESS", "FEATURES", "GRACE_DAYS", "WARN_DAYS",
            "SEAT_WARNING_THRESHOLD", "CONCURRENT_IDLE_MINUTES")]
        _fingerprint = hashlib.sha256("\n".join(relevant).encode()).hexdigest()[:12]
    return _fingerprint


def _on_setting_changed(*, setting, **kwargs):
    global _fingerprint
    if setting in ("WAGTAIL_LICENSING", "TIME_ZONE"):
        _fingerprint = None


setting_changed.connect(_on_setting_changed)


def features():
    """``FEATURES`` as {name: {"products": set, "admin_url_prefixes": tuple, "menu_items": set}}."""
    out = {}
    for name, spec in (licensing_settings.FEATURES or {}).items():
        out[name] = {
            "products": set(spec.get("products") or ()),
            "admin_url_prefixes": tuple(spec.get("admin_url_prefixes") or ()),
            "menu_items": set(spec.get("menu_items") or ()),
            "label": spec.get("label") or name,
        }
    return out


def grace():
    return timedelta(days=licensing_settings.GRACE_DAYS)


# The site: installed products and warnings, the same for every user ---------------------------


@dataclass(frozen=True)
class ProductInfo:
    code: str
    name: str
    type: str
    seats: int | None
    valid_from: date
    valid_until: date

    @property
    def label(self):
        return f"{self.name} ({self.code})"

    @property
    def grants_until(self):
        """The last day the product grants access: ``valid_until`` plus ``GRACE_DAYS``."""
        return self.valid_until + grace()

    def grants_on(self, day):
        return self.valid_from <= day <= self.grants_until


@dataclass(frozen=True)
class Alert:
    """Something license managers should know. Texts are built when shown, in their language."""

    kind: str  # demo, demo_managers, expired, grace, over_allocated, not_yet_valid, expiring, seats
    product: ProductInfo | None = None
    days: int = 0
    used: int = 0
    holders: int = 0

    # Expired and over-allocated products take managers to the License manager when they log in.
    PROBLEMS = frozenset({"expired", "grace", "over_allocated"})

    @property
    def is_problem(self):
        return self.kind in self.PROBLEMS

    @property
    def level(self):
        return "error" if self.is_problem else "warning"

    @property
    def message(self):
        p = self.product
        if self.kind == "demo":
            return _("This site runs in demo mode: no license is installed, so every user can "
                     "use the admin. Upload a license file in the License manager.")
        if self.kind == "demo_managers":
            return _("This site runs in demo mode: no license is installed, so only license "
                     "managers can use the admin. Upload a license file in the License manager.")
        values = {"product": p.label, "until": _date(p.valid_until),
                  "grace_until": _date(p.grants_until), "from": _date(p.valid_from),
                  "days": self.days, "used": self.used, "seats": p.seats,
                  "holders": self.holders}
        if self.kind == "expired":
            return _("%(product)s expired on %(until)s: nobody can use it. Upload a renewed "
                     "license file.") % values
        if self.kind == "grace":
            return _("%(product)s expired on %(until)s. It still grants access during the grace "
                     "period, until %(grace_until)s. Upload a renewed license file.") % values
        if self.kind == "over_allocated":
            return _("%(product)s is over-allocated: %(holders)d active users hold it but it has "
                     "%(seats)d seats, so the most recently granted have no access. Recall it "
                     "from some users or ask your vendor for more seats.") % values
        if self.kind == "not_yet_valid":
            return _("%(product)s is not valid before %(from)s.") % values
        if self.kind == "expiring":
            if self.days == 0:
                return _("%(product)s expires today (%(until)s).") % values
            return ngettext("%(product)s expires in %(days)d day, on %(until)s.",
                            "%(product)s expires in %(days)d days, on %(until)s.",
                            self.days) % values
        if self.kind == "seats":
            if p.type == ProductType.CONCURRENT:
                return _("%(product)s has %(used)d of its %(seats)d concurrent slots in "
                         "use.") % values
            return _("%(product)s uses %(used)d of its %(seats)d seats.") % values
        return self.kind  # pragma: no cover

    def __str__(self):
        return str(self.message)


def _date(day):
    from django.utils.formats import date_format

    return date_format(day, "DATE_FORMAT")


@dataclass(frozen=True)
class SiteSnapshot:
    demo: bool
    products: tuple  # ProductInfo of the installed file
    granting: frozenset  # codes that grant access today
    alerts: tuple

    def product(self, code):
        for product in self.products:
            if product.code == code:
                return product
        return None


def _product_info(product):
    return ProductInfo(code=product.code, name=product.name, type=product.type,
                       seats=product.seats, valid_from=product.valid_from,
                       valid_until=product.valid_until)


def compute_alerts(products, day):
    """Alerts for the installed products (annotated ``with_usage()``) on ``day``."""
    alerts = []
    threshold = licensing_settings.SEAT_WARNING_THRESHOLD
    for product in products:
        info = _product_info(product)
        if day < product.valid_from:
            alerts.append(Alert("not_yet_valid", info))
        elif day > product.valid_until:
            alerts.append(Alert("grace" if day <= info.grants_until else "expired", info))
        else:
            days = (product.valid_until - day).days
            if days <= licensing_settings.WARN_DAYS:
                alerts.append(Alert("expiring", info, days=days))
        if product.over_allocated:
            alerts.append(Alert("over_allocated", info, holders=product.active_holders))
        elif product.seats and product.in_use >= threshold * product.seats:
            alerts.append(Alert("seats", info, used=product.in_use))
    return tuple(alerts)


def _compute_site(day):
    state = LicensingState.get()
    if state.demo_mode:
        kind = "demo" if licensing_settings.DEMO_ACCESS == "all" else "demo_managers"
        return SiteSnapshot(demo=True, products=(), granting=frozenset(), alerts=(Alert(kind),))
    products = list(LicensedProduct.objects.filter(
        license_file_id=state.installed_file_id).with_usage().order_by("type", "code"))
    infos = tuple(_product_info(p) for p in products)
    return SiteSnapshot(
        demo=False,
        products=infos,
        granting=frozenset(p.code for p in infos if p.grants_on(day)),
        alerts=compute_alerts(products, day),
    )


def site_snapshot(version=None, day=None):
    """The installed products and managers' alerts, cached per state version and day."""
    version = _version(None) if version is None else version
    day = day or site_today()
    cache = get_cache()
    key = site_key(version, day, settings_fingerprint())
    snapshot = cache.get(key)
    if snapshot is None:
        snapshot = _compute_site(day)
        cache.set(key, snapshot, seconds_until_midnight())
    return snapshot


# One user's access ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What one user may do, for one stamp. Cached; never holds model instances."""

    stamp: tuple
    user_pk: object
    admin: str
    reason: str = ""
    manager: bool = False
    demo: bool = False
    demo_grants: bool = False  # in demo mode: does everything count as licensed for this user?
    portal: bool = False
    products: frozenset = frozenset()  # product codes the user may use today
    slot_products: tuple = ()  # concurrent admin products, in the order slots are tried
    features: frozenset = frozenset()  # feature names the user may use
    alerts: tuple = ()  # for license managers only

    @property
    def problems(self):
        return tuple(alert for alert in self.alerts if alert.is_problem)

    def has_license(self, *codes):
        if self.demo:
            return self.demo_grants
        return any(code in self.products for code in codes)

    def has_feature(self, name):
        return name in self.features


def admin_product_codes(snapshot):
    """Codes of the installed products that open the admin (``ADMIN_PRODUCTS``)."""
    configured = licensing_settings.ADMIN_PRODUCTS
    openers = [p for p in snapshot.products if p.type != ProductType.PORTAL]
    if configured is None:
        return {p.code for p in openers}
    return {p.code for p in openers if p.code in set(configured)}


def compute_access(user, stamp, snapshot):
    """Work out a user's access from the database (a cache miss)."""
    manager = can_manage_licenses(user)
    portal = PortalUser.objects.filter(user_id=user.pk).exists()
    admin_permission = user.is_superuser or user.has_perm("wagtailadmin.access_admin")
    feature_specs = features()
    common = {"stamp": stamp, "user_pk": user.pk, "manager": manager, "portal": portal,
              "alerts": snapshot.alerts if manager else ()}

    if snapshot.demo:
        allowed = licensing_settings.DEMO_ACCESS == "all" or manager
        if not admin_permission:
            admin = ADMIN_NOT_ADMIN
        elif portal:
            admin = ADMIN_DENIED
        else:
            admin = ADMIN_FULL if allowed else ADMIN_DENIED
        reason = REASON_PORTAL if portal else ("" if allowed else REASON_DEMO)
        return Access(admin=admin, reason=reason, demo=True, demo_grants=allowed,
                      features=frozenset(feature_specs) if allowed else frozenset(), **common)

    held = set(LicenseAssignment.objects.with_seat().filter(
        user_id=user.pk, product_code__in=list(snapshot.granting),
    ).values_list("product_code", flat=True))
    products = frozenset(held)
    openers = admin_product_codes(snapshot)
    named = [p.code for p in snapshot.products
             if p.code in products and p.code in openers and p.type != ProductType.CONCURRENT]
    concurrent = tuple(p.code for p in snapshot.products
                       if p.code in products and p.code in openers
                       and p.type == ProductType.CONCURRENT)
    allowed_features = frozenset(name for name, spec in feature_specs.items()
                                 if spec["products"] & products)
    reason = ""
    if not admin_permission:
        admin = ADMIN_NOT_ADMIN
    elif portal:
        admin, reason = ADMIN_DENIED, REASON_PORTAL
    elif named:
        admin = ADMIN_FULL
    elif concurrent:
        admin = ADMIN_CONCURRENT
    elif manager:
        admin, reason = ADMIN_LICENSING, REASON_UNLICENSED
    else:
        admin, reason = ADMIN_DENIED, REASON_UNLICENSED
    return Access(admin=admin, reason=reason, products=products, slot_products=concurrent,
                  features=allowed_features, **common)


def _version(values):
    version = values.get(VERSION_KEY) if values else None
    if version is None:
        from .cache import current_version

        version = current_version()
    return version


def _token(cache, key, values, timeout=None):
    token = values.get(key)
    if token is None:
        token = uuid.uuid4().hex
        if not cache.add(key, token, timeout):
            token = cache.get(key) or token
    return token


@dataclass
class Lookup:
    """The result of one cache round trip for a request: the stamp, the access and extras."""

    access: "Access | None"
    stamp: tuple
    version: int
    values: dict = field(default_factory=dict)


def lookup(user, extra_keys=()):
    """The user's access, from the cache when warm (one ``get_many``, no query)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Lookup(access=None, stamp=(), version=0)
    cache = get_cache()
    user = getattr(user, "_wrapped", user)
    keys = [VERSION_KEY, GLOBAL_TOKEN_KEY, user_token_key(user.pk), access_key(user.pk),
            *extra_keys]
    values = cache.get_many(keys)
    version = _version(values)
    day = site_today()
    stamp = (version, _token(cache, GLOBAL_TOKEN_KEY, values),
             _token(cache, user_token_key(user.pk), values, USER_TOKEN_TIMEOUT),
             day.isoformat(), settings_fingerprint())
    access = values.get(access_key(user.pk))
    if not isinstance(access, Access) or access.stamp != stamp:
        access = compute_access(user, stamp, site_snapshot(version, day))
        cache.set(access_key(user.pk), access, seconds_until_midnight())
    return Lookup(access=access, stamp=stamp, version=version, values=values)


def get_access(user):
    """The user's ``Access`` (None for anonymous and inactive users)."""
    return lookup(user).access


def _request_access(request, user):
    """The access the middleware worked out for this request, when it is about ``user``."""
    access = getattr(request, "wagtail_licensing", None) if request is not None else None
    if access is not None and user is not None and access.user_pk == getattr(user, "pk", None):
        return access
    return None


def has_license(user, *codes, request=None):
    """Does ``user`` hold one of the product ``codes``, valid today, with a seat?

    In demo mode (no license installed) every product counts as licensed when
    ``DEMO_ACCESS`` is ``"all"``, and for license managers only when it is ``"managers"``.
    """
    if not codes:
        raise TypeError("has_license() needs at least one product code")
    access = _request_access(request, user) or get_access(user)
    return access is not None and access.has_license(*codes)


def has_feature(user, name, *, request=None):
    """May ``user`` use the feature ``name`` of the ``FEATURES`` setting?"""
    access = _request_access(request, user) or get_access(user)
    return access is not None and access.has_feature(name)


def blocked_feature(access, path):
    """The name of a feature whose admin URL prefixes cover ``path`` and the user lacks."""
    for name, spec in features().items():
        if name in access.features:
            continue
        if any(path.startswith(prefix) for prefix in spec["admin_url_prefixes"]):
            return name
    return None


def hidden_menu_items(access):
    """Names of menu items the user must not see (features they have no license for)."""
    hidden = set()
    for name, spec in features().items():
        if name not in access.features:
            hidden |= spec["menu_items"]
    return hidden


# Invalidation: groups, permissions, accounts ---------------------------------------------------


def _renew(key, timeout=None):
    def renew():
        get_cache().set(key, uuid.uuid4().hex, timeout)

    transaction.on_commit(renew)


def invalidate_all_users():
    """Recompute every user's access on their next request (after the current commit)."""
    _renew(GLOBAL_TOKEN_KEY)


def invalidate_user(user_pk):
    """Recompute one user's access on their next request (after the current commit)."""
    _renew(user_token_key(user_pk), USER_TOKEN_TIMEOUT)


def _user_saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if raw or created:
        return
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every login saves last_login: nothing the license check depends on
    invalidate_user(instance.pk)


def _user_m2m_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    User = get_user_model()
    if isinstance(instance, User):
        invalidate_user(instance.pk)
    elif action == "post_clear" or not pk_set:
        invalidate_all_users()
    else:  # group.user_set.add(...) and the like: pk_set holds users
        for pk in pk_set:
            invalidate_user(pk)


def _group_permissions_changed(sender, action, **kwargs):
    if action.startswith("post_"):
        invalidate_all_users()


def _group_deleted(sender, **kwargs):
    invalidate_all_users()


def _portal_user_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        invalidate_user(instance.user_id)


DISPATCH_PREFIX = "wagtail_licensing.enforcement"


def register_signal_handlers():
    User = get_user_model()
    post_save.connect(_user_saved, sender=User, dispatch_uid=f"{DISPATCH_PREFIX}.user_saved")
    for through in (User.groups.through, User.user_permissions.through):
        m2m_changed.connect(_user_m2m_changed, sender=through,
                            dispatch_uid=f"{DISPATCH_PREFIX}.m2m.{through._meta.label}")
    m2m_changed.connect(_group_permissions_changed, sender=Group.permissions.through,
                        dispatch_uid=f"{DISPATCH_PREFIX}.group_permissions")
    post_delete.connect(_group_deleted, sender=Group,
                        dispatch_uid=f"{DISPATCH_PREFIX}.group_deleted")
    post_delete.connect(_group_deleted, sender=Permission,
                        dispatch_uid=f"{DISPATCH_PREFIX}.permission_deleted")
    for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
        signal.connect(_portal_user_changed, sender=PortalUser,
                       dispatch_uid=f"{DISPATCH_PREFIX}.portal_user_{name}")


# Who to ask ------------------------------------------------------------------------------------

CONTACT_NAMES_SHOWN = 5


def license_managers():
    """Active license managers (CanManageLicUsers), superusers only if nobody else is one."""
    User = get_user_model()
    app_label, codename = MANAGE_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label,
                                           codename=codename)
    active = User._default_manager.filter(is_active=True).exclude(
        licensing_portal_user__isnull=False)
    try:
        managers = active.filter(Q(groups__permissions__in=permission)
                                 | Q(user_permissions__in=permission)).distinct()
    except FieldError:  # a custom user model without Django's groups and permissions
        managers = active.none()
    if not managers.exists():
        managers = active.filter(is_superuser=True)
    return managers


def _display_name(user):
    return user.get_full_name().strip() or user.get_username()


def license_contact():
    """Who unlicensed users should ask: ``LICENSE_CONTACT``, else the license managers."""
    if licensing_settings.LICENSE_CONTACT:
        return str(licensing_settings.LICENSE_CONTACT)
    User = get_user_model()
    managers = license_managers().order_by("last_name", "first_name", User.USERNAME_FIELD)
    names = [_display_name(user) for user in managers[:CONTACT_NAMES_SHOWN + 1]]
    if not names:
        return ""
    if len(names) > CONTACT_NAMES_SHOWN:
        return _("%(names)s or another license manager") % {
            "names": ", ".join(names[:CONTACT_NAMES_SHOWN])}
    return get_text_list(names, _("or"))


# URLs ------------------------------------------------------------------------------------------

LICENSE_MANAGER_URL_NAME = "wagtail_licensing:license_manager"


def license_manager_url():
    """The License manager's URL; this app's wagtail_hooks always registers it."""
    return reverse(LICENSE_MANAGER_URL_NAME)


# Views and front-end pages ---------------------------------------------------------------------


def no_license_response(request, access=None, *, codes=(), feature=None, status=403):
    """The "no license" page: what is missing and who to ask (a 403, never a bare one)."""
    from django.shortcuts import render

    if request.headers.get("x-requested-with") == "XMLHttpRequest":
        return HttpResponseForbidden(_("Your account has no license for this."))
    feature_label = features().get(feature, {}).get("label") if feature else None
    snapshot = None
    wanted_codes = list(codes)
    if feature:
        wanted_codes = sorted(features().get(feature, {}).get("products", ()))
    if wanted_codes:
        snapshot = site_snapshot()
    wanted = []
    for code in wanted_codes:
        product = snapshot.product(code) if snapshot else None
        wanted.append(product.label if product else code)
    context = {
        "access": access,
        "reason": access.reason if access else REASON_UNLICENSED,
        "feature": feature_label,
        "wanted": wanted,
        "contact": license_contact(),
        "site_name": _site_name(request),
        "in_admin": bool(access and access.admin in (ADMIN_FULL, ADMIN_CONCURRENT)
                         and getattr(request, "wagtail_licensing_admin_path", False)),
    }
    template = ("wagtail_licensing/enforcement/no_license_admin.html" if context["in_admin"]
                else "wagtail_licensing/enforcement/no_license.html")
    return render(request, template, context, status=status)


def _site_name(request):
    from django.conf import settings
    from wagtail.models import Site

    site = Site.find_for_request(request)
    return (site.site_name if site and site.site_name else None) or getattr(
        settings, "WAGTAIL_SITE_NAME", "") or request.get_host()


def license_required(*codes, login_url=None):
    """View decorator: only users holding one of ``codes`` (valid today, with a seat) get in.

    Anonymous users are sent to the login page (``login_url`` or ``settings.LOGIN_URL``);
    logged-in users without the license get the "no license" page with status 403. Works for
    front-end views and Wagtail pages (decorate ``serve`` with ``method_decorator``), for portal
    users too.
    """
    if not codes:
        raise TypeError("license_required() needs at least one product code")
    if callable(codes[0]):
        raise TypeError("Use @license_required('product-code'), with the product codes.")

    def decorator(view_func):
        @wraps(view_func)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url)
            access = _request_access(request, user) or get_access(user)
            if access is None or not access.has_license(*codes):
                return no_license_response(request, access, codes=codes)
            return view_func(request, *args, **kwargs)

        wrapped.wagtail_licensing_codes = codes
        return wrapped

    return decorator


def banner_alerts(access):
    """Alerts shown to license managers at the top of every admin page."""
    if access is None or not access.manager:
        return ()
    return access.alerts


def with_admin(access, admin, reason=""):
    """A copy of ``access`` with another admin level (e.g. a manager without a free slot)."""
    return replace(access, admin=admin, reason=reason or access.reason)


def filter_menu_items(request, menu_items, main_menu=False):
    """Hide the menu items of features the user has no license for; license managers without
    a license see only the Licensing menu. Needs the middleware (it knows the user's access)."""
    access = getattr(request, "wagtail_licensing", None)
    if access is None:
        return
    if main_menu and access.admin == ADMIN_LICENSING:
        menu_items[:] = [item for item in menu_items if item.name == "licensing"]
        return
    hidden = hidden_menu_items(access)
    if hidden:
        menu_items[:] = [item for item in menu_items if item.name not in hidden]
