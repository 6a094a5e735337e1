"""What unlicensed users get: the "no license" page, the ``license_required`` decorator, and
who to ask (the license managers, through the registered permission policy)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from wagtail.admin.localization import get_localized_response
from wagtail.models import Site

from ..conf import licensing_settings
from ..dates import site_today
from ..permissions import MANAGE, permission_policy
from . import activity
from .access import Access, AdminAccess, Reason, features
from .snapshot import lookup, request_access, site_snapshot

CONTACT_NAMES_SHOWN = 5
LICENSE_MANAGER_URL_NAME = "wagtail_licensing:license_manager"


def license_manager_url() -> str:
    """The License manager's URL; this app's wagtail_hooks always registers it."""
    return reverse(LICENSE_MANAGER_URL_NAME)


# Who to ask ------------------------------------------------------------------------------------


def license_managers() -> QuerySet:
    """Active license managers who are not portal users; superusers are only named when
    nobody else holds CanManageLicUsers (they always may, but rarely want the e-mails)."""
    policy_users = permission_policy.users_with_permission(MANAGE).exclude(
        licensing_portal_user__isnull=False)
    managers = policy_users.filter(is_superuser=False)
    if not managers.exists():
        managers = policy_users.filter(is_superuser=True)
    return managers


def _display_name(user: Any) -> str:
    return user.get_full_name().strip() or user.get_username()


def license_contact() -> str:
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


# Views and front-end pages ---------------------------------------------------------------------


def _site_name(request: HttpRequest) -> str:
    site = Site.find_for_request(request)
    return (site.site_name if site and site.site_name else None) or getattr(
        settings, "WAGTAIL_SITE_NAME", "") or request.get_host()


def no_license_response(request: HttpRequest, access: Access | None = None, *,
                        codes: tuple[str, ...] = (), feature: str | None = None,
                        status: int = 403) -> HttpResponse:
    """The "no license" page: what is missing and who to ask (a 403, never a bare one).

    In the user's admin language and time zone (Account > Preferences), as Wagtail's own
    admin views are: the middleware answers before any admin view could choose them."""
    return get_localized_response(_no_license_response, request, access, codes=codes,
                                  feature=feature, status=status)


def _no_license_response(request: HttpRequest, access: Access | None, *,
                         codes: tuple[str, ...], feature: str | None,
                         status: int) -> HttpResponse:
    if request.headers.get("x-requested-with") == "XMLHttpRequest":
        return HttpResponseForbidden(_("Your account has no license for this."))
    spec = features().get(feature) if feature else None
    wanted_codes = sorted(spec.products) if spec else list(codes)
    snapshot = site_snapshot() if wanted_codes else None
    wanted = []
    for code in wanted_codes:
        product = snapshot.product(code) if snapshot else None
        wanted.append(product.label if product else code)
    in_admin = bool(access and access.admin in (AdminAccess.FULL, AdminAccess.CONCURRENT)
                    and getattr(request, "wagtail_licensing_admin_path", False))
    context = {
        "access": access,
        "reason": access.reason if access else Reason.UNLICENSED,
        "feature": spec.label if spec else None,
        "wanted": wanted,
        "contact": license_contact(),
        "site_name": _site_name(request),
        "in_admin": in_admin,
    }
    template = ("wagtail_licensing/enforcement/no_license_admin.html" if in_admin
                else "wagtail_licensing/enforcement/no_license.html")
    return render(request, template, context, status=status)


def license_required(*codes: str, login_url: str | None = None
                     ) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
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

    def decorator(view_func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view_func)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url)
            access = request_access(request, user)
            values = None
            day = site_today()
            key = activity.activity_key(user.pk, day, activity.codes_scope(codes))
            if access is None:
                # The key comes with the access, in the same cache round trip.
                found = lookup(user, [key])
                access, values = found.access, found.values
            if access is None or not access.has_license(*codes):
                return no_license_response(request, access, codes=codes)
            activity.note_activity(user, [c for c in codes if c in access.products], key=key,
                                   values=values, day=day)
            return view_func(request, *args, **kwargs)

        wrapped.wagtail_licensing_codes = codes  # type: ignore[attr-defined]
        return wrapped

    return decorator
