from django.utils.translation import gettext_lazy as _

from ... import operations
from ...models import AssignmentSource
from ...user_forms import ProductsForm, grant_options
from .base import LicensingUserBulkAction


class GrantLicensesBulkAction(LicensingUserBulkAction):
    display_name = _("Grant licenses")
    action_type = "grant_licenses"
    aria_label = _("Grant licenses to the selected users")
    template_name = "wagtail_licensing/bulk_actions/grant_licenses.html"
    action_priority = 40
    form_class = ProductsForm

    def get_options(self):
        return grant_options()

    def run_operation(self, users, codes):
        return operations.grant(users, codes, user=self.request.user,
                                source=AssignmentSource.BULK)
