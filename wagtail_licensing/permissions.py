"""Who may manage licenses: the permission policy every licensing surface asks.

CanManageLicUsers (``wagtail_licensing.can_manage_lic_users``, granted through Wagtail's group
permissions) or superuser status allows every licensing action: viewing the License manager,
granting, recalling, installing files, importing. The policy is registered with Wagtail's
``policy_registry`` for the licensing models (``wagtail_hooks``), so views, bulk actions,
actions, the command and the API all ask the same object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from wagtail.permission_policies.base import BaseDjangoAuthPermissionPolicy

from .models import MANAGE_PERMISSION, LicensingState

if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker only
    from django.views import View as _ViewBase
else:
    _ViewBase = object

MANAGE = "manage"
"""The action every licensing screen and writer checks."""

MANAGE_CODENAME = MANAGE_PERMISSION.partition(".")[2]


class LicensingPermissionPolicy(BaseDjangoAuthPermissionPolicy):
    """Every licensing action maps to the one CanManageLicUsers permission."""

    def _get_permission_codename(self, action: str) -> str:
        return MANAGE_CODENAME

    def user_has_permission(self, user: Any, action: str) -> bool:
        return bool(
            user is not None
            and user.is_authenticated
            and user.is_active
            and (user.is_superuser or user.has_perm(MANAGE_PERMISSION))
        )

    def users_with_any_permission(self, actions: Any) -> QuerySet:
        """Active superusers and holders of CanManageLicUsers (through a group or directly)."""
        return self._get_users_with_any_permission_codenames({MANAGE_CODENAME})


permission_policy = LicensingPermissionPolicy(LicensingState)


def can_manage_licenses(user: Any) -> bool:
    return permission_policy.user_has_permission(user, MANAGE)


class LicenseManagerRequiredMixin(_ViewBase):
    """For every licensing admin view: refuse anybody without CanManageLicUsers.

    Wagtail's admin turns the PermissionDenied into its usual "no permission" redirect.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not can_manage_licenses(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
