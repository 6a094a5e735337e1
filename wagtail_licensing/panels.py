"""The "Licenses" panel on the Wagtail dashboard, for license managers."""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.admin.ui.components import Component

from .conf import licensing_settings
from .enforcement import license_manager_url
from .models import LicensingState
from .permissions import can_manage_licenses
from .status import installed_products
from .views.columns import product_status, product_url, product_usage


class LicensingSummaryPanel(Component):
    name = "wagtail_licensing_summary"
    template_name = "wagtail_licensing/home/licensing_panel.html"
    order = 150

    class Media:
        css = {"all": ["wagtail_licensing/css/license-manager.css"]}

    def render_html(self, parent_context=None):
        request = (parent_context or {}).get("request")
        if request is None or not can_manage_licenses(request.user):
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context=None):
        state = LicensingState.get()
        rows, warnings = [], []
        for product in installed_products(state):
            label, tone = product_status(product)
            rows.append({"product": product, "url": product_url(product), "status": label,
                         "tone": tone, "usage": product_usage(product)})
            warnings.extend(self.product_warnings(product))
        return {
            "request": (parent_context or {}).get("request"),
            "demo_mode": state.demo_mode,
            "rows": rows,
            "warnings": warnings,
            "license_manager_url": license_manager_url(),
            "upload_url": reverse("wagtail_licensing:upload"),
        }

    @staticmethod
    def product_warnings(product):
        """What a manager should act on: over-allocation, expiry soon or past, seats running out."""
        name = f"{product.name} ({product.code})"
        status = product.status
        if status == "over_allocated":
            yield ngettext(
                "%(name)s is over-allocated: %(n)d user holds it without a seat.",
                "%(name)s is over-allocated: %(n)d users hold it without a seat.",
                product.active_holders - product.seats,
            ) % {"name": name, "n": product.active_holders - product.seats}
        if status == "expired":
            yield _("%(name)s expired on %(date)s.") % {"name": name,
                                                        "date": product.valid_until}
        elif 0 <= product.days_left <= licensing_settings.WARN_DAYS and status != "not_yet_valid":
            yield ngettext("%(name)s expires in %(n)d day (%(date)s).",
                           "%(name)s expires in %(n)d days (%(date)s).", product.days_left) % {
                "name": name, "n": product.days_left, "date": product.valid_until}
        if (status not in ("over_allocated", "expired") and product.counts_seats
                and product.seats
                and product.in_use / product.seats >= licensing_settings.SEAT_WARNING_THRESHOLD):
            yield _("%(name)s: %(used)d of %(seats)d seats are used.") % {
                "name": name, "used": product.in_use, "seats": product.seats}


def construct_homepage_panels(request, panels):
    if can_manage_licenses(request.user):
        panels.append(LicensingSummaryPanel())
