"""The Grant licenses bulk action on users."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ... import operations
from ...models import AssignmentSource, LicensingState
from ...user_forms import ProductsForm, grant_options
from .base import LicensingUserBulkAction


class GrantLicensesBulkAction(LicensingUserBulkAction):
    display_name = _("Grant licenses")
    action_type = "grant_licenses"
    aria_label = _("Grant licenses to the selected users")
    template_name = "wagtail_licensing/bulk_actions/grant_licenses.html"
    action_priority = 40
    form_class = ProductsForm

    def get_options(self) -> list[Any]:
        return grant_options()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if not self.options:
            # Why there is nothing to grant: no license at all (demo mode), or none valid today.
            context["license_installed"] = LicensingState.get().installed_file_id is not None
        return context

    def run(self, users: QuerySet, codes: list[str], user: Any) -> Any:
        return operations.grant(users, codes, user=user, source=AssignmentSource.BULK)
