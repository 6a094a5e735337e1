"""The licensing admin as Wagtail viewsets: each owns its URLs, namespace, icon and menu item.

``LicensingViewSetGroup`` is the "Licensing" menu section and the one object
``wagtail_hooks`` registers (``register_admin_viewset``). A viewset's ``name`` is its URL
namespace; the names and URL prefixes are those of the earlier hand-registered URL modules, so
that ``reverse()`` calls, tests and bookmarks keep working.

To add a screen: write its view on ``LicensingViewMixin`` (``views/base.py``), add a ``path()``
to the viewset of its family below, or a new ``LicensingViewSet`` subclass to
``LicensingViewSetGroup.items`` (with a ``menu_label`` if it belongs in the menu).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.urls import URLPattern, path
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup

from ..permissions import MANAGE, permission_policy
from .api_tokens import ApiTokensView, RevokeApiTokenView
from .bulk_actions.base import LicensingBulkActionView
from .delete import DeleteLicensesView
from .exports import ExportView
from .groups import GroupsView
from .history import ActivityView, DownloadLicenseFileView, HistoryView
from .imports import ImportPreviewView, ImportView
from .license_manager import LicenseManagerView
from .names import (
    API_TOKENS_NAMESPACE,
    ASSIGNMENTS_NAMESPACE,
    GROUPS_NAMESPACE,
    LICENSE_MANAGER_NAMESPACE,
    SESSIONS_NAMESPACE,
    SYSTEM_USERS_NAMESPACE,
    USAGE_REPORT_NAMESPACE,
)
from .products import ProductGrantView, ProductRecallView, ProductView
from .request import LicenseRequestView
from .sessions import ReleaseSlotView, SessionsView
from .system_users import (
    AddPortalUserView,
    ConvertToPortalUserView,
    IndexView,
    UserLicensesView,
)
from .upload import UploadPreviewView, UploadView
from .usage_report import UsageReportView


def shown_to_license_managers(request: HttpRequest) -> bool:
    return permission_policy.user_has_permission(request.user, MANAGE)


class LicensingMenuItem(MenuItem):
    """An entry of the Licensing menu, shown only to license managers (and superusers)."""

    def is_shown(self, request: HttpRequest) -> bool:
        return shown_to_license_managers(request)


class LicensingSubmenuMenuItem(SubmenuMenuItem):
    """The Licensing menu itself: hidden from everybody else, whatever its entries say."""

    def is_shown(self, request: HttpRequest) -> bool:
        return shown_to_license_managers(request) and super().is_shown(request)


class LicensingViewSet(ViewSet):
    """A family of licensing screens. Its views check the permission themselves
    (``LicensingPermissionMixin``); the menu item only hides what they would refuse."""

    menu_item_class = LicensingMenuItem


class LicenseManagerViewSet(LicensingViewSet):
    """The License manager with its products, request, upload, delete and history screens."""

    name = LICENSE_MANAGER_NAMESPACE
    url_prefix = "licensing"
    icon = "key"
    menu_label = _("License manager")
    menu_name = "license-manager"
    menu_order = 100

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            path("", LicenseManagerView.as_view(), name="license_manager"),
            path("products/<str:code>/", ProductView.as_view(), name="product"),
            path("products/<str:code>/results/",
                 ProductView.as_view(results_only=True), name="product_results"),
            path("products/<str:code>/recall/", ProductRecallView.as_view(),
                 name="product_recall"),
            path("products/<str:code>/grant/", ProductGrantView.as_view(),
                 name="product_grant"),
            path("products/<str:code>/grant/results/",
                 ProductGrantView.as_view(results_only=True),
                 name="product_grant_results"),
            path("request/", LicenseRequestView.as_view(), name="request"),
            path("upload/", UploadView.as_view(), name="upload"),
            path("upload/<uuid:token>/", UploadPreviewView.as_view(),
                 name="upload_preview"),
            path("delete/", DeleteLicensesView.as_view(), name="delete"),
            path("history/", HistoryView.as_view(), name="history"),
            path("history/activity/", ActivityView.as_view(), name="activity"),
            path("history/<int:pk>/download/", DownloadLicenseFileView.as_view(),
                 name="history_download"),
        ]


class SystemUsersViewSet(LicensingViewSet):
    """System users: every user with their licenses, one user's licenses, portal users, and
    the licensing bulk actions.

    A plain ``ViewSet`` rather than a ``ModelViewSet``: the user model already has Wagtail's
    own viewset (Settings > Users), and a second ``ModelViewSet`` would take over its admin URL
    finder and permission policy.
    """

    name = SYSTEM_USERS_NAMESPACE
    url_prefix = "licensing/users"
    icon = "group"
    menu_label = _("System users")
    menu_name = "system-users"
    menu_order = 200

    index_view_class = IndexView
    user_view_class = UserLicensesView
    add_portal_user_view_class = AddPortalUserView
    convert_view_class = ConvertToPortalUserView
    bulk_action_view_class = LicensingBulkActionView

    def get_urlpatterns(self) -> list[URLPattern]:
        index_kwargs: dict[str, Any] = {
            "model": get_user_model(),
            "index_url_name": self.get_url_name("index"),
            "index_results_url_name": self.get_url_name("index_results"),
        }
        return [
            path("", self.index_view_class.as_view(**index_kwargs), name="index"),
            path("results/", self.index_view_class.as_view(results_only=True, **index_kwargs),
                 name="index_results"),
            path("portal-users/add/", self.add_portal_user_view_class.as_view(),
                 name="add_portal_user"),
            path("bulk/<str:action>/", self.bulk_action_view_class.as_view(),
                 name="bulk_action"),
            path("<str:pk>/", self.user_view_class.as_view(), name="user"),
            path("<str:pk>/convert-to-portal-user/", self.convert_view_class.as_view(),
                 name="convert_to_portal_user"),
        ]


class AssignmentsViewSet(LicensingViewSet):
    """Import and export of license assignments: offered in the License manager's Actions
    dropdown and the System users header, so no menu entry of its own."""

    name = ASSIGNMENTS_NAMESPACE
    url_prefix = "licensing/assignments"
    icon = "upload"

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            path("import/", ImportView.as_view(), name="import"),
            path("import/<uuid:token>/", ImportPreviewView.as_view(),
                 name="import_preview"),
            path("export/", ExportView.as_view(), name="export"),
        ]


class GroupsViewSet(LicensingViewSet):
    """Group-based licensing: products bound to Wagtail groups, reprocessing, errors."""

    name = GROUPS_NAMESPACE
    url_prefix = "licensing/groups"
    icon = "group"
    menu_label = _("Groups")
    menu_name = "licensing-groups"
    menu_order = 250

    def get_urlpatterns(self) -> list[URLPattern]:
        return [path("", GroupsView.as_view(), name="index")]


class ConcurrentSessionsViewSet(LicensingViewSet):
    """Who holds the concurrent-license slots, and releasing one."""

    name = SESSIONS_NAMESPACE
    url_prefix = "licensing/sessions"
    icon = "time"
    menu_label = _("Concurrent sessions")
    menu_name = "concurrent-sessions"
    menu_order = 300

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            path("", SessionsView.as_view(), name="index"),
            path("results/", SessionsView.as_view(results_only=True),
                 name="index_results"),
            path("<int:pk>/release/", ReleaseSlotView.as_view(), name="release"),
        ]


class ApiTokensViewSet(LicensingViewSet):
    """The licensing API's tokens: create one (shown once), revoke any."""

    name = API_TOKENS_NAMESPACE
    url_prefix = "licensing/api-tokens"
    icon = "code"
    menu_label = _("API tokens")
    menu_name = "api-tokens"
    menu_order = 400

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            path("", ApiTokensView.as_view(), name="index"),
            path("<int:pk>/revoke/", RevokeApiTokenView.as_view(), name="revoke"),
        ]


class UsageReportViewSet(LicensingViewSet):
    """Reports > License usage (its menu item is in the Reports menu: ``wagtail_hooks``)."""

    name = USAGE_REPORT_NAMESPACE
    url_prefix = "reports/license-usage"
    icon = "key"

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            path("", UsageReportView.as_view(), name="index"),
            path("results/", UsageReportView.as_view(results_only=True),
                 name="index_results"),
        ]


class LicensingViewSetGroup(ViewSetGroup):
    """The "Licensing" menu section: its entries are the viewsets that have a menu label."""

    items = (LicenseManagerViewSet, SystemUsersViewSet, GroupsViewSet, ConcurrentSessionsViewSet,
             AssignmentsViewSet, ApiTokensViewSet, UsageReportViewSet)
    menu_label = _("Licensing")
    menu_name = "licensing"
    menu_icon = "key"
    menu_order = 9000

    @cached_property
    def menu_registerables(self) -> list[LicensingViewSet]:
        return [viewset for viewset in self.registerables if viewset.menu_label]

    def get_submenu_items(self) -> list[MenuItem]:
        # Each entry keeps its own menu_order (Wagtail 7 would number them 1, 2, 3).
        return [viewset.get_menu_item(order=viewset.menu_order)
                for viewset in self.menu_registerables]

    def get_menu_item(self, order: int | None = None) -> SubmenuMenuItem:
        # Wagtail's own, with a menu item class that checks the permission.
        return LicensingSubmenuMenuItem(
            label=self.menu_label,
            menu=Menu(items=self.get_submenu_items()),
            name=self.menu_name,
            icon_name=self.menu_icon,
            order=self.menu_order,
        )
