"""Registration only: permissions and audit log actions (screens are registered with them)."""

from django.contrib.auth.models import Permission
from wagtail import hooks

from . import log_formatters, menu
from .compat import register_permission_policy
from .models import LicensingState
from .permissions import permission_policy

# At the top, before anything asks the registry for a fallback policy (Wagtail's advice).
register_permission_policy(LicensingState, permission_policy)


@hooks.register("register_permissions")
def register_permissions():
    return Permission.objects.filter(
        content_type__app_label="wagtail_licensing", codename="can_manage_lic_users"
    )


@hooks.register("register_log_actions")
def register_log_actions(actions):
    for action, formatter in log_formatters.FORMATTERS.items():
        actions.register_action(action)(formatter)


@hooks.register("register_admin_menu_item")
def register_licensing_menu():
    return menu.licensing_menu_item()


@hooks.register("construct_reports_menu")
def offer_site_history_to_managers(request, menu_items):
    menu.offer_site_history_to_managers(request, menu_items)


# License manager (issue 3) ------------------------------------------------------------------


@hooks.register("register_admin_urls")
def register_license_manager_urls():
    from django.urls import include, path

    from . import urls

    return [path("licensing/", include(urls, namespace="wagtail_licensing"))]


@hooks.register("register_licensing_menu_item")
def register_license_manager_menu_item():
    from django.urls import reverse_lazy
    from django.utils.translation import gettext_lazy as _

    return menu.LicensingSubmenuItem(
        _("License manager"), reverse_lazy("wagtail_licensing:license_manager"),
        name="license-manager", icon_name="key", order=100)


@hooks.register("construct_homepage_panels")
def register_licensing_dashboard_panel(request, panels):
    from . import panels as licensing_panels

    licensing_panels.construct_homepage_panels(request, panels)


# Import and export of license assignments (issue 6) ------------------------------------------


@hooks.register("register_admin_urls")
def register_assignment_import_export_urls():
    from django.urls import include, path

    from . import assignment_urls

    return [path("licensing/assignments/", include(assignment_urls))]


@hooks.register("register_license_manager_action")
def register_assignment_import_export_actions(request):
    from .views.imports import license_manager_actions

    return license_manager_actions(request)


# System users, bulk actions, the Licenses tab and portal users (issue 4) ----------------------


@hooks.register("register_admin_viewset")
def register_system_users_viewset():
    from .views.system_users import SystemUsersViewSet

    return SystemUsersViewSet()


@hooks.register("register_licensing_menu_item")
def register_system_users_menu_item():
    from django.urls import reverse_lazy
    from django.utils.translation import gettext_lazy as _

    return menu.LicensingSubmenuItem(
        _("System users"), reverse_lazy("wagtail_licensing_users:index"),
        name="system-users", icon_name="group", order=200)


def _licensing_bulk_actions():
    # Wagtail's register_bulk_action hook takes the classes themselves, not functions.
    from .views.bulk_actions import GrantLicensesBulkAction, RecallLicensesBulkAction

    return [GrantLicensesBulkAction, RecallLicensesBulkAction]


for _action_class in _licensing_bulk_actions():
    hooks.register("register_bulk_action", _action_class)


@hooks.register("after_edit_user")
def save_licenses_tab(request, user):
    from .views.licenses_tab import save_licenses_tab

    save_licenses_tab(request, user)


@hooks.register("register_license_manager_action")
def register_add_portal_user_action(request):
    from .views.system_users import license_manager_actions

    return license_manager_actions(request)


@hooks.register("after_bulk_action")
def seats_follow_set_active_state(request, action_type, objects, action):
    from .enforcement.signals import after_set_active_state

    after_set_active_state(request, action_type, objects, action)


@hooks.register("register_user_listing_buttons")
def user_licenses_listing_button(user, request_user):
    from .views.system_users import user_listing_buttons

    return user_listing_buttons(user, request_user)


# Enforcement and concurrent sessions (issue 5) -----------------------------------------------


@hooks.register("register_admin_urls")
def register_concurrent_sessions_urls():
    from django.urls import include, path

    from . import session_urls

    return [path("licensing/sessions/", include(session_urls))]


@hooks.register("register_licensing_menu_item")
def register_concurrent_sessions_menu_item():
    from django.urls import reverse_lazy
    from django.utils.translation import gettext_lazy as _

    return menu.LicensingSubmenuItem(
        _("Concurrent sessions"), reverse_lazy("wagtail_licensing_sessions:index"),
        name="concurrent-sessions", icon_name="time", order=300)


@hooks.register("construct_main_menu")
def hide_unlicensed_main_menu_items(request, menu_items):
    from .enforcement import filter_menu_items

    filter_menu_items(request, menu_items, main_menu=True)


@hooks.register("construct_settings_menu")
@hooks.register("construct_reports_menu")
def hide_unlicensed_submenu_items(request, menu_items):
    from .enforcement import filter_menu_items

    filter_menu_items(request, menu_items)
