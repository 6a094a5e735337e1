"""Delete the installed licenses: the site runs in demo mode; history and assignments stay."""


from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages

from .. import operations
from ..conf import DemoAccess
from ..exceptions import LicensingError
from ..models import LicenseAssignment, LicenseFile
from ..rules.status import demo_access
from .base import LicensingViewMixin, license_manager_url


class DeleteLicensesView(LicensingViewMixin, TemplateView):
    template_name = "wagtail_licensing/delete.html"
    page_title = gettext_lazy("Delete licenses")
    header_icon = "bin"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        kept = LicenseAssignment.objects.order_by().aggregate(
            assignments=Count("pk"), users=Count("user_id", distinct=True))
        context.update({
            "state": self.state,
            "installed": self.state.installed_file,
            "kept": kept,
            "history_count": LicenseFile.objects.count(),
            # What deleting leads to: demo mode on a site that had a license.
            "demo_access_all": demo_access(deleted=True) == DemoAccess.ALL,
        })
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            previous = operations.delete_licenses(user=request.user)
        except LicensingError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _(
                "The license %(id)s was deleted: the site runs in demo mode. Upload a license "
                "file to install licenses again.") % {"id": previous.license_id})
        return redirect(license_manager_url())
