"""What every License manager screen shares: the permission check, breadcrumbs and the state."""

from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.views.generic import WagtailAdminTemplateMixin

from ..enforcement import license_manager_url
from ..models import LicensingState
from ..permissions import LicenseManagerRequiredMixin


class LicensingViewMixin(LicenseManagerRequiredMixin, WagtailAdminTemplateMixin):
    """Base of the License manager's screens: Home > License manager > this screen.

    ``LicenseManagerRequiredMixin`` comes first so that nothing (not even a 404 for an unknown
    product) is revealed to users without CanManageLicUsers.
    """

    header_icon = "key"
    # Breadcrumbs between "License manager" and this screen, as [{"url": ..., "label": ...}].
    parent_breadcrumbs = ()

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": license_manager_url(), "label": _("License manager")},
            *self.get_parent_breadcrumbs(),
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_parent_breadcrumbs(self):
        return list(self.parent_breadcrumbs)

    @cached_property
    def state(self):
        """The licensing singleton with its installed file and installer, in one query."""
        return LicensingState.get_with_installed_file()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["license_manager_url"] = license_manager_url()
        return context
