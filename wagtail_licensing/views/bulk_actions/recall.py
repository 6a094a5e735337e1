"""The Recall licenses bulk action on users."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ... import operations
from ...models import AssignmentSource
from ...user_forms import ProductsForm, recall_options
from .base import LicensingUserBulkAction


class RecallLicensesBulkAction(LicensingUserBulkAction):
    display_name = _("Recall licenses")
    action_type = "recall_licenses"
    aria_label = _("Recall licenses from the selected users")
    template_name = "wagtail_licensing/bulk_actions/recall_licenses.html"
    action_priority = 50
    form_class = ProductsForm

    def get_options(self) -> list[Any]:
        return recall_options(self.selected_users)

    def run(self, users: QuerySet, codes: list[str], user: Any) -> Any:
        return operations.recall(users, codes, user=user, source=AssignmentSource.BULK)
