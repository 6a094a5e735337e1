"""Menus other than the Licensing section (which ``views.viewsets.LicensingViewSetGroup``
builds): Site history under Reports for license managers."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import MenuItem

from .permissions import MANAGE, permission_policy

SITE_HISTORY_MENU_NAME = "site-history"


def offer_site_history_to_managers(request: HttpRequest, menu_items: list[MenuItem]) -> None:
    """Licensing actions are written to Site history, which Wagtail lists under Reports only
    for users who can explore pages: offer it to license managers as well (the report itself
    shows each user only the entries they have permissions for)."""
    if not permission_policy.user_has_permission(request.user, MANAGE):
        return
    if any(item.name == SITE_HISTORY_MENU_NAME for item in menu_items):
        return
    menu_items.append(MenuItem(_("Site history"), reverse("wagtailadmin_reports:site_history"),
                               name=SITE_HISTORY_MENU_NAME, icon_name="history", order=1100))
