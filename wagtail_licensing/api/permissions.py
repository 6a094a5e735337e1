"""Who may call the API: the admin's permission policy, and the token's scope."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..models import ApiToken
from ..permissions import can_manage_licenses


class CanManageLicenses(BasePermission):
    """CanManageLicUsers (or superuser) through the registered permission policy, as every
    licensing screen asks it; a read-only token may only read."""

    message = _("Managing licenses needs the CanManageLicUsers permission (Can manage user "
                "licenses), given through a group in Settings > Groups.")

    def has_permission(self, request: Any, view: Any) -> bool:
        if not can_manage_licenses(request.user):
            return False
        token = request.auth
        if isinstance(token, ApiToken) and token.read_only:
            if request.method not in SAFE_METHODS:
                self.message = _("This API token is read-only: it cannot change licenses.")
                return False
        return True
