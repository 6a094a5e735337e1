"""Who may manage licenses: holders of CanManageLicUsers, and superusers."""

from django.core.exceptions import PermissionDenied

from .models import MANAGE_PERMISSION


def can_manage_licenses(user):
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_perm(MANAGE_PERMISSION))
    )


class LicenseManagerRequiredMixin:
    """For every licensing admin view: refuse anybody without CanManageLicUsers.

    Wagtail's admin turns the PermissionDenied into its usual "no permission" redirect.
    """

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_licenses(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
