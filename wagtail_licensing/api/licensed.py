"""A Django REST framework permission for licensed API endpoints (Wagtail's API is built on it).

    from wagtail.api.v2.views import PagesAPIViewSet
    from wagtail_licensing.api import HasLicense

    class PortalPagesAPIViewSet(PagesAPIViewSet):
        permission_classes = [HasLicense.for_codes("customer-portal")]

or set ``license_codes = ["customer-portal"]`` on the view and use ``HasLicense`` itself.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from .. import enforcement


class HasLicense(BasePermission):
    """Allows signed-in users who hold one of the product codes (``codes`` on the class, or
    ``license_codes`` on the view), valid today and with a seat."""

    codes: tuple[str, ...] = ()
    message = _("Your account has no license for this.")

    @classmethod
    def for_codes(cls, *codes: str) -> type[HasLicense]:
        if not codes:
            raise TypeError("HasLicense.for_codes() needs at least one product code")
        return type(f"{cls.__name__}For", (cls,), {"codes": tuple(codes)})

    def get_codes(self, view: Any) -> tuple[str, ...]:
        codes = tuple(self.codes) or tuple(getattr(view, "license_codes", None) or ())
        if not codes:
            raise TypeError(
                f"{type(view).__name__} uses HasLicense without product codes: set "
                "license_codes on the view or use HasLicense.for_codes(...).")
        return codes

    def has_permission(self, request: Any, view: Any) -> bool:
        codes = self.get_codes(view)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        return enforcement.has_license(user, *codes, request=getattr(request, "_request", None))
