"""Admin requests under enforcement: addresses, a licensed user, the sidebar menu, a request."""

import json
import re

from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.utils import timezone
from wagtail.users.models import UserProfile

from wagtail_licensing import operations
from wagtail_licensing.dates import site_today
from wagtail_licensing.enforcement import alert_key
from wagtail_licensing.rules.status import ProductFacts, product_alerts
from wagtail_licensing.status import installed_products

ADMIN = "/admin/"
PAGES = "/admin/pages/"
LICENSE_MANAGER = "/admin/licensing/"
SESSIONS = "/admin/licensing/sessions/"


def grant(user, *codes):
    """Grant ``codes`` to one user, failing the test if any is refused."""
    result = operations.grant([user], list(codes))
    assert not result.refused, result.refused
    return result


def login(client, user):
    client.force_login(user)
    return client


def main_menu_names(response):
    """Names of the sidebar's top-level menu items (Wagtail renders them as JSON)."""
    props = json.loads(re.search(r'id="wagtail-sidebar-props"[^>]*>(.*?)</script>',
                                 response.content.decode(), re.S).group(1))
    menu = next(m for m in props["modules"] if m["_type"] == "wagtail.sidebar.MainMenuModule")
    return [item["_args"][0]["name"] for item in menu["_args"][0]]


def request_for(user, path=ADMIN):
    """A request as the middleware sees it: a user, a loaded session and message storage."""
    request = RequestFactory().get(path)
    request.user = user
    request.session = SessionStore()
    request.session.update({})  # loaded
    request._messages = FallbackStorage(request)
    return request


def hide_banner_alerts(user):
    """Hide every current license alert from ``user``'s banner, as its close buttons do
    (Wagtail's dismissibles); the dashboard panel then lists them. Returns a fresh user."""
    shown_at = timezone.now().isoformat()
    UserProfile.objects.update_or_create(user=user, defaults={"dismissibles": {
        alert_key(alert): shown_at for p in installed_products()
        for alert in product_alerts(ProductFacts.of(p), site_today())}})
    return get_user_model().objects.get(pk=user.pk)
