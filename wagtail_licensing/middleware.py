"""``LicenseEnforcementMiddleware``: the license check on every admin request.

Put it after ``AuthenticationMiddleware`` and ``MessageMiddleware``. It acts on the Wagtail
admin's URLs only; front-end views use ``license_required`` and the API ``HasLicense``.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.signals import setting_changed
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import (
    NoReverseMatch,
    Resolver404,
    get_script_prefix,
    get_urlconf,
    resolve,
    reverse,
)
from django.utils.translation import gettext as _

from . import concurrent, enforcement
from .enforcement import ADMIN_CONCURRENT, ADMIN_DENIED, ADMIN_LICENSING, ADMIN_NOT_ADMIN

# Admin URLs everybody signed in may use, whatever their license: signing in and out.
OPEN_URL_NAMES = frozenset({
    "wagtailadmin_login", "wagtailadmin_logout", "wagtailadmin_password_reset",
    "wagtailadmin_password_reset_done", "wagtailadmin_password_reset_confirm",
    "wagtailadmin_password_reset_complete", "wagtailadmin_javascript_catalog",
    "wagtailadmin_sprite",
})
# What license managers without a license may use besides the licensing screens.
MANAGER_URL_NAMES = OPEN_URL_NAMES | {"wagtailadmin_account", "wagtailadmin_dismissibles"}
LICENSING_NAMESPACE = "wagtail_licensing"

_admin_prefixes = {}


def admin_prefix(urlconf=None):
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


def _reset_prefixes(*, setting, **kwargs):
    if setting == "ROOT_URLCONF":
        _admin_prefixes.clear()


setting_changed.connect(_reset_prefixes)


def resolve_path(path, urlconf=None):
    try:
        return resolve(path, urlconf=urlconf)
    except Resolver404:
        return None


def is_licensing_match(match):
    return bool(match and match.namespaces
                and match.namespaces[0].startswith(LICENSING_NAMESPACE))


def _is_ajax(request):
    return (request.headers.get("x-requested-with") == "XMLHttpRequest"
            or "application/json" in request.headers.get("accept", "")
            and "text/html" not in request.headers.get("accept", ""))


class LicenseEnforcementMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        prefix = admin_prefix(getattr(request, "urlconf", None))
        if prefix and request.path_info.startswith(prefix):
            request.wagtail_licensing_admin_path = True
            response = self.check(request)
            if response is not None:
                return response
        return self.get_response(request)

    # The decision ---------------------------------------------------------------------------

    def check(self, request):
        """None to let the request through, or the response that replaces the view's."""
        user = request.user
        if not user.is_authenticated:
            return None
        lookup = enforcement.lookup(user, concurrent.extra_cache_keys(request))
        access = lookup.access
        if access is None or access.admin == ADMIN_NOT_ADMIN:
            return None  # Wagtail's own admin permission check refuses them
        request.wagtail_licensing = access

        if access.admin == ADMIN_CONCURRENT:
            try:
                concurrent.ensure_slot(request, lookup)
            except concurrent.SlotRefused as refusal:
                if not access.manager:
                    return self.sign_out(request, refusal.message)
                # License managers are never locked out: licensing screens only.
                access = request.wagtail_licensing = enforcement.with_admin(
                    access, ADMIN_LICENSING, enforcement.REASON_UNLICENSED)
                if not refusal.repeated:
                    messages.warning(request, refusal.message)
        elif concurrent.session_token(request):
            concurrent.release_own_slot(request)

        just_logged_in = concurrent.LOGIN_SESSION_KEY in request.session
        if just_logged_in:
            del request.session[concurrent.LOGIN_SESSION_KEY]

        if access.admin == ADMIN_DENIED:
            if self.url_name(request) in OPEN_URL_NAMES:
                return None
            return enforcement.no_license_response(request, access)

        if access.admin == ADMIN_LICENSING:
            match = self.match(request)
            if is_licensing_match(match):
                if just_logged_in:
                    self.explain_licensing_only(request, access)
                return None
            if match is not None and match.url_name in MANAGER_URL_NAMES:
                return None
            if _is_ajax(request):
                return JsonResponse({"error": _("Your account has no license for this.")},
                                    status=403)
            self.explain_licensing_only(request, access)
            return redirect(enforcement.license_manager_url())

        # Full access (named license, a concurrent slot, or demo mode).
        if just_logged_in and access.manager and access.problems:
            for alert in access.problems:
                messages.error(request, alert.message)
            if not is_licensing_match(self.match(request)):
                return redirect(enforcement.license_manager_url())
        feature = enforcement.blocked_feature(access, request.path_info)
        if feature is not None:
            return enforcement.no_license_response(request, access, feature=feature)
        return None

    # Helpers ---------------------------------------------------------------------------------

    def match(self, request):
        if not hasattr(request, "_wagtail_licensing_match"):
            request._wagtail_licensing_match = resolve_path(
                request.path_info, getattr(request, "urlconf", None))
        return request._wagtail_licensing_match

    def url_name(self, request):
        match = self.match(request)
        return match.url_name if match else None

    def explain_licensing_only(self, request, access):
        messages.info(request, _(
            "Your account has no license for this site's admin. As a license manager you can "
            "use the licensing screens: grant yourself a license to use the rest of the admin."))

    def sign_out(self, request, message):
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

