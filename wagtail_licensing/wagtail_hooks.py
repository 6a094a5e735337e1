"""Registration only: the Licensing viewsets, bulk actions, the permission policy, log actions,
and the panels and menu constructs. Each hook calls into the module that does the work."""


from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from django.http import HttpRequest
from wagtail import hooks

from . import log_formatters, menu, panels
from .compat import register_permission_policy
from .enforcement import filter_menu_items
from .enforcement.signals import after_set_active_state
from .models import LicensingState
from .permissions import permission_policy
from .views import imports, licenses_tab, system_users, usage_report
from .views.bulk_actions import (
    GrantLicensesBulkAction,
    RecallIdleSeatsBulkAction,
    RecallLicensesBulkAction,
)
from .views.groups import GroupLicensesPanel
from .views.viewsets import LicensingViewSetGroup

# At the top, before anything asks the registry for a fallback policy (Wagtail's advice).
register_permission_policy(LicensingState, permission_policy)

# Wagtail's register_bulk_action hook takes the classes themselves, not functions.
hooks.register("register_bulk_action", GrantLicensesBulkAction)
hooks.register("register_bulk_action", RecallLicensesBulkAction)
hooks.register("register_bulk_action", RecallIdleSeatsBulkAction)


@hooks.register("register_admin_viewset")
def register_licensing_viewsets() -> LicensingViewSetGroup:
    return LicensingViewSetGroup()


@hooks.register("register_group_permission_panel")
def register_group_licenses_panel() -> type[GroupLicensesPanel]:
    return GroupLicensesPanel


@hooks.register("register_permissions")
def register_permissions() -> QuerySet[Permission]:
    return Permission.objects.filter(
        content_type__app_label="wagtail_licensing", codename="can_manage_lic_users")


@hooks.register("register_log_actions")
def register_log_actions(actions: Any) -> None:
    for action, formatter in log_formatters.FORMATTERS.items():
        actions.register_action(action)(formatter)


@hooks.register("construct_homepage_panels")
def register_licensing_dashboard_panel(request: HttpRequest, panels_list: list[Any]) -> None:
    panels.construct_homepage_panels(request, panels_list)


@hooks.register("construct_reports_menu")
def offer_site_history_to_managers(request: HttpRequest, menu_items: list[Any]) -> None:
    menu.offer_site_history_to_managers(request, menu_items)


@hooks.register("register_reports_menu_item")
def register_license_usage_report() -> Any:
    return usage_report.reports_menu_item()


@hooks.register("construct_main_menu")
def hide_unlicensed_main_menu_items(request: HttpRequest, menu_items: list[Any]) -> None:
    filter_menu_items(request, menu_items, main_menu=True)


@hooks.register("construct_settings_menu")
@hooks.register("construct_reports_menu")
def hide_unlicensed_submenu_items(request: HttpRequest, menu_items: list[Any]) -> None:
    filter_menu_items(request, menu_items)


# The License manager's Actions dropdown (the documented register_license_manager_action hook).


@hooks.register("register_license_manager_action")
def register_assignment_import_export_actions(request: HttpRequest) -> list[Any]:
    return imports.license_manager_actions(request)


@hooks.register("register_license_manager_action")
def register_add_portal_user_action(request: HttpRequest) -> list[Any]:
    return system_users.license_manager_actions(request)


@hooks.register("register_license_manager_action")
def register_usage_report_action(request: HttpRequest) -> list[Any]:
    return usage_report.license_manager_actions(request)


# Wagtail's user screens (Settings > Users): the Licenses tab, row buttons, seats.


@hooks.register("after_edit_user")
def save_licenses_tab(request: HttpRequest, user: Any) -> None:
    licenses_tab.save_licenses_tab(request, user)


@hooks.register("register_user_listing_buttons")
def user_licenses_listing_button(user: Any, request_user: Any) -> list[Any]:
    return system_users.user_listing_buttons(user, request_user)


@hooks.register("after_bulk_action")
def seats_follow_set_active_state(request: HttpRequest, action_type: str, objects: Any,
                                  action: Any) -> None:
    after_set_active_state(request, action_type, objects, action)
