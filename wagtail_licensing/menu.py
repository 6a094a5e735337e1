"""The top-level Licensing menu. Screens add items with the
``register_licensing_menu_item`` hook, as Wagtail's Settings and Reports menus do."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

from .permissions import can_manage_licenses

licensing_menu = Menu(
    register_hook_name="register_licensing_menu_item",
    construct_hook_name="construct_licensing_menu",
)


class LicensingMenuItem(SubmenuMenuItem):
    def is_shown(self, request):
        return can_manage_licenses(request.user) and super().is_shown(request)


class LicensingSubmenuItem(MenuItem):
    """An entry of the Licensing menu, shown only to license managers (and superusers)."""

    def is_shown(self, request):
        return can_manage_licenses(request.user)


def licensing_menu_item():
    return LicensingMenuItem(_("Licensing"), licensing_menu, name="licensing",
                             icon_name="key", order=9000)


SITE_HISTORY_MENU_NAME = "site-history"


def offer_site_history_to_managers(request, menu_items):
    """Licensing actions are written to Site history, which Wagtail lists under Reports only
    for users who can explore pages: offer it to license managers as well (the report itself
    shows each user only the entries they have permissions for)."""
    if not can_manage_licenses(request.user):
        return
    if any(item.name == SITE_HISTORY_MENU_NAME for item in menu_items):
        return
    from django.urls import reverse

    menu_items.append(MenuItem(_("Site history"), reverse("wagtailadmin_reports:site_history"),
                               name=SITE_HISTORY_MENU_NAME, icon_name="history", order=1100))
