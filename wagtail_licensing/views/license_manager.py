"""The License manager: the installed license, every product's seats, and the Actions menu."""

from typing import Any

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import Column, Table, TitleColumn
from wagtail.admin.views.generic.base import BaseListingView
from wagtail.admin.widgets.button import Button

from .. import group_status
from ..compat import BaseButton, ButtonWithDropdown
from ..conf import licensing_settings
from ..enforcement import LICENSE_MANAGER_URL_NAME
from ..models import LicensedProduct, ProductUsage
from ..status import installed_products
from .base import LicensingViewMixin
from .columns import (
    CalendarDateColumn,
    ProductStatusColumn,
    ProductTitleColumn,
    SeatsColumn,
    TrendColumn,
    UsageColumn,
    product_url,
)
from .names import GROUPS_NAMESPACE
from .usage_chart import trends

# Other apps add entries to the Actions dropdown with
# ``@hooks.register(LICENSE_MANAGER_ACTIONS_HOOK)``: a function taking the request and returning
# a ``wagtail.admin.widgets.button.Button`` (or a list of them, or None). ``priority`` orders
# them: the built-in actions use 10 (Request) to 40 (Delete).
LICENSE_MANAGER_ACTIONS_HOOK = "register_license_manager_action"

# URL names of screens other issues may provide; linked when they exist.
SYSTEM_USERS_URL_NAMES = ("wagtail_licensing_users:index",)


def optional_url(*url_names: str) -> str | None:
    """The first of these URL names that resolves, or None (the screen is not installed)."""
    for name in url_names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


class LicenseManagerView(LicensingViewMixin, BaseListingView):
    template_name = "wagtail_licensing/license_manager.html"
    results_template_name = "wagtail_licensing/license_manager_results.html"
    page_title = _("License manager")
    index_url_name = LICENSE_MANAGER_URL_NAME
    verbose_name_plural = _("products")
    columns = [
        ProductTitleColumn(),
        Column("code", label=_("Code")),
        Column("type", accessor="get_type_display", label=_("Type")),
        SeatsColumn("seats", label=_("Total")),
        Column("in_use", label=_("Used")),
        # Holders beside seats: an over-allocated product has more holders than seats.
        Column("active_holders", label=_("Holders")),
        SeatsColumn("available", label=_("Available")),
        UsageColumn(),
        TrendColumn(),
        CalendarDateColumn("valid_from", label=_("Valid from")),
        CalendarDateColumn("valid_until", label=_("Valid until")),
        ProductStatusColumn(),
    ]

    def get_breadcrumbs_items(self) -> list[dict[str, str]]:
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def get_base_queryset(self) -> QuerySet[LicensedProduct]:
        return installed_products(self.state)

    def get_actions(self) -> list[BaseButton]:
        """The Actions dropdown: the built-in actions plus those registered with the hook.

        Subclasses may extend this list; other apps use ``register_license_manager_action``.
        """
        demo_mode = self.state.demo_mode
        actions = [
            Button(_("Request license"), url=reverse("wagtail_licensing:request"),
                   icon_name="download", priority=10),
            Button(_("Upload license file"), url=reverse("wagtail_licensing:upload"),
                   icon_name="upload", priority=20),
            Button(_("History"), url=reverse("wagtail_licensing:history"),
                   icon_name="history", priority=30),
        ]
        if not demo_mode:
            actions.append(Button(_("Delete licenses"), url=reverse("wagtail_licensing:delete"),
                                  icon_name="bin", priority=40))
        for hook in hooks.get_hooks(LICENSE_MANAGER_ACTIONS_HOOK):
            result = hook(self.request)
            if result is None:
                continue
            if isinstance(result, BaseButton):
                result = [result]
            actions.extend(button for button in result if button.show)
        return sorted(actions)

    def get_header_buttons(self) -> list[BaseButton]:
        return [
            ButtonWithDropdown(
                label=_("Actions"),
                icon_name="arrow-down",
                buttons=self.get_actions(),
                classname="button button-secondary",
                attrs={"data-license-manager-actions": ""},
            )
        ]

    @cached_property
    def orphaned_products(self) -> list[dict[str, Any]]:
        """Product codes users hold that the installed license does not grant (or none at all,
        in demo mode): their holders keep the assignment but get no access from it."""
        installed = LicensedProduct.objects.installed().values("code")
        rows = (ProductUsage.objects.exclude(product_code__in=installed).filter(holders__gt=0)
                .order_by("product_code").values("product_code", "holders"))
        return [dict(row) for row in rows]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        state = self.state
        installed = state.installed_file
        orphaned = [{**row, "url": product_url(row["product_code"])}
                    for row in self.orphaned_products]
        products = list(context["object_list"])
        by_code = trends(products)
        for product in products:  # the same instances the table's rows render
            product.usage_trend = by_code.get(product.code)
        context.update({
            "state": state,
            "installed": installed,
            "demo_mode": state.demo_mode,
            "company_id": installed.company_id if installed else licensing_settings.COMPANY_ID,
            "orphaned_products": orphaned,
            "orphaned_products_table": Table([
                TitleColumn("product_code", label=_("Product code"),
                            get_url=lambda row: row["url"]),
                Column("holders", label=_("Holders")),
            ], orphaned),
            "history_url": reverse("wagtail_licensing:history"),
            "upload_url": reverse("wagtail_licensing:upload"),
            "request_url": reverse("wagtail_licensing:request"),
            "system_users_url": optional_url(*SYSTEM_USERS_URL_NAMES),
            "group_problems": group_status.problem_count(),
            "groups_url": reverse(f"{GROUPS_NAMESPACE}:index"),
        })
        return context
