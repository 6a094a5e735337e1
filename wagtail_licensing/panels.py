"""The "Licenses" panel on the Wagtail dashboard, for license managers."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from wagtail.admin.ui.components import Component

from . import group_status
from .dates import site_today
from .enforcement.dismissals import split_dismissed
from .enforcement.responses import license_manager_url
from .models import LicensingState
from .permissions import can_manage_licenses
from .rules.status import Alert, ProductFacts, product_alerts, status_tag
from .status import installed_products
from .views.columns import product_url, product_usage
from .views.names import GROUPS_NAMESPACE


class LicensingSummaryPanel(Component):
    name = "wagtail_licensing_summary"
    template_name = "wagtail_licensing/home/licensing_panel.html"
    order = 150

    class Media:
        css = {"all": ["wagtail_licensing/css/license-manager.css"]}

    def render_html(self, parent_context: dict[str, Any] | None = None) -> str:
        request = (parent_context or {}).get("request")
        if request is None or not can_manage_licenses(request.user):
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        state = LicensingState.get()
        day = site_today()
        rows: list[dict[str, Any]] = []
        alerts: list[Alert] = []
        for product in installed_products(state):
            facts = ProductFacts.of(product)
            label, tone = status_tag(facts, day)
            rows.append({"product": product, "url": product_url(product), "status": label,
                         "tone": tone, "usage": product_usage(product)})
            alerts.extend(product_alerts(facts, day))
        # The same alerts, in the same words, as the banner on every admin page; the banner
        # states those the manager has not hidden, this panel the others: once each.
        request = (parent_context or {}).get("request")
        _shown, hidden = split_dismissed(alerts, getattr(request, "user", None))
        warnings = [alert.message for alert in hidden]
        return {
            "request": (parent_context or {}).get("request"),
            "demo_mode": state.demo_mode,
            "rows": rows,
            "warnings": warnings,
            "license_manager_url": license_manager_url(),
            "upload_url": reverse("wagtail_licensing:upload"),
            "group_problems": group_status.problem_count(),
            "groups_url": reverse(f"{GROUPS_NAMESPACE}:index"),
        }


def construct_homepage_panels(request: Any, panels: list[Any]) -> None:
    if can_manage_licenses(request.user):
        panels.append(LicensingSummaryPanel())
