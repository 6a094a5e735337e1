"""The license check on one admin request: let it through, or the response that replaces the
view's (the "no license" page, the licensing screens only, or signing a refused session out).

``LicenseEnforcementMiddleware`` calls ``is_admin_request`` and ``check``; nothing else decides.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import (
    NoReverseMatch,
    Resolver404,
    ResolverMatch,
    get_script_prefix,
    get_urlconf,
    resolve,
    reverse,
)
from django.utils.translation import gettext as _

from ..dates import site_today
from . import activity, sessions
from .access import Access, AdminAccess, Reason
from .menu import blocked_feature
from .responses import license_manager_url, no_license_response
from .snapshot import lookup

# Admin URLs everybody signed in may use, whatever their license: signing in and out.
OPEN_URL_NAMES = frozenset({
    "wagtailadmin_login", "wagtailadmin_logout", "wagtailadmin_password_reset",
    "wagtailadmin_password_reset_done", "wagtailadmin_password_reset_confirm",
    "wagtailadmin_password_reset_complete", "wagtailadmin_javascript_catalog",
    "wagtailadmin_sprite",
})
# What license managers without a license may use besides the licensing screens.
MANAGER_URL_NAMES = OPEN_URL_NAMES | {"wagtailadmin_account", "wagtailadmin_dismissibles"}
SCREEN_MARKER = "wagtail_licensing_screen"
"""The class attribute every licensing view sets (through the licensing views' mixin)."""

_admin_prefixes: dict[str, str] = {}


def admin_prefix(urlconf: str | None = None) -> str:
    """The admin's path prefix (``/admin/``), without the script prefix."""
    urlconf = urlconf or get_urlconf() or settings.ROOT_URLCONF
    prefix = _admin_prefixes.get(urlconf)
    if prefix is None:
        try:
            path = reverse("wagtailadmin_home", urlconf=urlconf)
        except NoReverseMatch:
            path = ""  # this URLconf has no Wagtail admin: nothing to enforce
        else:
            script_prefix = get_script_prefix()
            if path.startswith(script_prefix):
                path = "/" + path[len(script_prefix):]
        prefix = _admin_prefixes[urlconf] = path
    return prefix


def forget_admin_prefixes() -> None:
    """``ROOT_URLCONF`` changed (``signals.py``): find the admin again."""
    _admin_prefixes.clear()


def is_admin_request(request: HttpRequest) -> bool:
    prefix = admin_prefix(getattr(request, "urlconf", None))
    return bool(prefix) and request.path_info.startswith(prefix)


def resolve_path(path: str, urlconf: str | None = None) -> ResolverMatch | None:
    try:
        return resolve(path, urlconf=urlconf)
    except Resolver404:
        return None


def is_licensing_match(match: ResolverMatch | None) -> bool:
    """Is this URL one of the licensing screens (open to license managers without a license)?

    The views say so themselves (``wagtail_licensing_screen = True``, set by the licensing
    views' common mixin), so no URL namespace or path has to be recognised by its name.
    """
    if match is None:
        return False
    view = getattr(match.func, "view_class", match.func)
    return bool(getattr(view, SCREEN_MARKER, False))


def _is_ajax(request: HttpRequest) -> bool:
    accept = request.headers.get("accept", "")
    return (request.headers.get("x-requested-with") == "XMLHttpRequest"
            or "application/json" in accept and "text/html" not in accept)


class _GatedRequest(HttpRequest):
    """The attributes the gate puts on a request, declared for the type checker (the request
    stays Django's own object)."""

    _wagtail_licensing_match: ResolverMatch | None
    wagtail_licensing_admin_path: bool
    wagtail_licensing: Access


def _match(request: HttpRequest) -> ResolverMatch | None:
    gated = cast(_GatedRequest, request)
    if not hasattr(gated, "_wagtail_licensing_match"):
        gated._wagtail_licensing_match = resolve_path(
            request.path_info, getattr(request, "urlconf", None))
    return gated._wagtail_licensing_match


def _url_name(request: HttpRequest) -> str | None:
    match = _match(request)
    return match.url_name if match else None


def explain_licensing_only(request: HttpRequest) -> None:
    messages.info(request, _(
        "Your account has no license for this site's admin. As a license manager you can "
        "use the licensing screens: grant yourself a license to use the rest of the admin."))


def sign_out(request: HttpRequest, message: str) -> HttpResponse:
    """Refuse the session: sign it out and show why on the login page."""
    next_url = request.get_full_path() if request.method == "GET" else admin_prefix()
    if _is_ajax(request):
        logout(request)
        return JsonResponse({"error": message}, status=403)
    logout(request)
    messages.error(request, message)
    login_url = getattr(settings, "WAGTAILADMIN_LOGIN_URL", None) or reverse(
        "wagtailadmin_login")
    return redirect_to_login(next_url, login_url=login_url)


def check(request: HttpRequest) -> HttpResponse | None:
    """None to let the admin request through, or the response that replaces the view's."""
    gated = cast(_GatedRequest, request)
    gated.wagtail_licensing_admin_path = True
    user = request.user
    if not user.is_authenticated:
        return None
    active_key = activity.activity_key(user.pk, site_today())
    found = lookup(user, [*sessions.extra_cache_keys(request), active_key])
    access: Access | None = found.access
    if access is None or access.admin == AdminAccess.NOT_ADMIN:
        return None  # Wagtail's own admin permission check refuses them
    gated.wagtail_licensing = access

    if access.admin == AdminAccess.CONCURRENT:
        try:
            slot_code = sessions.ensure_slot(request, found)
            activity.note_activity(user, [slot_code], key=active_key, values=found.values)
        except sessions.SlotRefused as refusal:
            if not access.manager:
                return sign_out(request, refusal.message)
            # License managers are never locked out: licensing screens only.
            access = gated.wagtail_licensing = access.with_admin(
                AdminAccess.LICENSING, Reason.UNLICENSED)
            if not refusal.repeated:
                messages.warning(request, refusal.message)
    elif sessions.session_token(request):
        sessions.release_own_slot(request)

    just_logged_in = sessions.pop_login(request)

    if access.admin == AdminAccess.DENIED:
        if _url_name(request) in OPEN_URL_NAMES:
            return None
        return no_license_response(request, access)

    if access.admin == AdminAccess.LICENSING:
        match = _match(request)
        if is_licensing_match(match):
            if just_logged_in:
                explain_licensing_only(request)
            return None
        if match is not None and match.url_name in MANAGER_URL_NAMES:
            return None
        if _is_ajax(request):
            return JsonResponse({"error": _("Your account has no license for this.")},
                                status=403)
        explain_licensing_only(request)
        return redirect(license_manager_url())

    # Full access (named license, a concurrent slot, or demo mode).
    if access.admin == AdminAccess.FULL:
        activity.note_activity(user, access.admin_products, key=active_key,
                               values=found.values)
    if just_logged_in and access.manager and access.problems:
        for alert in access.problems:
            messages.error(request, alert.message)
        if not is_licensing_match(_match(request)):
            return redirect(license_manager_url())
    feature = blocked_feature(access, request.path_info)
    if feature is not None and not (access.manager and is_licensing_match(_match(request))):
        # A licensing screen under a gated prefix (Reports > License usage under a gated
        # "/admin/reports/") stays open to license managers, as every licensing screen is.
        return no_license_response(request, access, feature=feature)
    return None
