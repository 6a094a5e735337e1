"""Reports > License usage: holders who have not used their product for ``IDLE_DAYS``, per
product, with the seats recalling them would free. Wagtail's ``ReportView`` (filters,
pagination, CSV and XLSX export like every other report), for license managers only.

A constant number of queries whatever the number of holders: the page of assignments with
their users, the installed products, and one aggregate for the summary.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, TitleColumn
from wagtail.admin.utils import get_user_display_name
from wagtail.admin.views.reports import ReportView
from wagtail.admin.widgets.button import Button

from .. import operations
from ..actions.idle import idle_days, installed_codes
from ..filters import idle_choices
from ..models import LicenseAssignment
from ..permissions import MANAGE, permission_policy
from ..rules.escaping import escape_formula
from ..rules.labels import product_label
from .base import LicensingPermissionMixin
from .names import USAGE_REPORT_NAMESPACE
from .user_listing import url_name, user_url

REPORT_MENU_NAME = "license-usage"


def report_url() -> str:
    return reverse(f"{USAGE_REPORT_NAMESPACE}:index")


class UsageReportMenuItem(MenuItem):
    """Reports > License usage, for license managers only."""

    def is_shown(self, request: Any) -> bool:
        return permission_policy.user_has_permission(request.user, MANAGE)


def reports_menu_item() -> MenuItem:
    return UsageReportMenuItem(_("License usage"), report_url(), name=REPORT_MENU_NAME,
                               icon_name="key", order=1050)


def license_manager_actions(request: Any) -> list[Button]:
    """"License usage" in the License manager's Actions dropdown: managers without a license
    of their own see no Reports menu."""
    return [Button(_("License usage report"), url=report_url(), icon_name="key",
                   priority=80)]


def product_choices() -> list[tuple[str, str]]:
    return [(code, product_label(name, code)) for code, name in installed_codes().items()]


class UsageReportFilterSet(WagtailFilterSet):
    idle = django_filters.ChoiceFilter(
        label=_("Not used for"), choices=idle_choices, empty_label=None,
        widget=forms.RadioSelect, method="keep")
    product = django_filters.ChoiceFilter(
        label=_("Product"), choices=product_choices, empty_label=_("All"),
        widget=forms.RadioSelect, method="filter_product")

    class Meta:
        model = LicenseAssignment
        fields: list[str] = []

    def keep(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset  # the view applies the idle window (its default is IDLE_DAYS)

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(product_code=value) if value else queryset


class UsageReportView(LicensingPermissionMixin, ReportView):
    page_title = _("License usage")
    header_icon = "key"
    template_name = "wagtail_licensing/reports/license_usage.html"
    results_template_name = "wagtail_licensing/reports/license_usage_results.html"
    filterset_class = UsageReportFilterSet
    export_filename = "license-usage"
    paginate_by = 50
    index_url_name = f"{USAGE_REPORT_NAMESPACE}:index"
    index_results_url_name = f"{USAGE_REPORT_NAMESPACE}:index_results"

    list_export = ["username", "email", "display_name", "product_code", "product_name",
                   "last_active_on", "granted_at", "holds_seat", "is_active"]
    export_headings = {
        "username": _("Username"),
        "email": _("E-mail"),
        "display_name": _("Name"),
        "product_code": _("Product code"),
        "product_name": _("Product"),
        "last_active_on": _("Last active"),
        "granted_at": _("Granted"),
        "holds_seat": _("Seat freed if recalled"),
        "is_active": _("Active user"),
    }

    @cached_property
    def days(self) -> int:
        value = self.request.GET.get("idle", "")
        return int(value) if value in {code for code, _label in idle_choices()} \
            else idle_days()

    @cached_property
    def products(self) -> dict[str, str]:
        return installed_codes()

    def get_filters(self) -> Any:
        filters = super().get_filters()
        if filters is not None and not filters.data.get("idle"):
            # Show the window in use ticked, although the query string names none.
            data = filters.data.copy()
            data["idle"] = str(self.days)
            filters = self.filterset_class(data, queryset=filters.queryset,
                                           request=self.request)
        return filters

    def get_queryset(self) -> QuerySet:
        username = f"user__{get_user_model().USERNAME_FIELD}"
        return (LicenseAssignment.objects.filter(product_code__in=list(self.products))
                .idle(self.days).select_related("user")
                .order_by("product_code", username, "pk"))

    @cached_property
    def columns(self) -> list[Column]:
        return [
            TitleColumn("user", label=_("User"),
                        accessor=lambda a: get_user_display_name(a.user),
                        get_url=lambda a: user_url(a.user)),
            Column("username", label=_("Username"), accessor=lambda a: a.user.get_username()),
            Column("product", label=_("Product"), accessor=self.product_label),
            DateColumn("last_active_on", label=_("Last active")),
            DateColumn("granted_at", label=_("Granted")),
            BooleanColumn("holds_seat", label=_("Seat freed if recalled"),
                          accessor=self.holds_seat),
        ]

    def product_label(self, assignment: LicenseAssignment) -> str:
        return product_label(self.products.get(assignment.product_code),
                             assignment.product_code)

    @staticmethod
    def holds_seat(assignment: LicenseAssignment) -> bool:
        return bool(assignment.has_seat and assignment.user.is_active)

    def to_row_dict(self, item: LicenseAssignment) -> dict[str, Any]:
        user = item.user
        values = {
            "username": user.get_username(),
            "email": getattr(user, user.get_email_field_name(), "") or "",
            "display_name": get_user_display_name(user),
            "product_code": item.product_code,
            "product_name": self.products.get(item.product_code, ""),
            "last_active_on": item.last_active_on,
            "granted_at": item.granted_at,
            "holds_seat": self.holds_seat(item),
            "is_active": user.is_active,
        }
        # Names and codes are the holders' own text: never a formula in a spreadsheet.
        return {name: escape_formula(values[name]) for name in self.list_export}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        code = self.request.GET.get("product") or None
        codes = [code] if code in self.products else list(self.products)
        summary = operations.idle_seats(self.days, product_codes=codes)
        for product in summary:
            product.recall_url = self.recall_url(product.code)  # type: ignore[attr-defined]
        context.update({
            "idle_days": self.days,
            "summary": summary,
            "total_holders": sum(p.holders for p in summary),
            "total_seats": sum(p.seats_freed for p in summary),
        })
        return context

    def recall_url(self, code: str) -> str:
        """Recall idle seats for every idle holder of ``code``: System users' bulk action on
        the users the "idle" and "product" filters select."""
        query = urlencode({"id": "all", "idle": str(self.days), "product": code,
                           "next": self.request.get_full_path()})
        return reverse(url_name("bulk_action"), args=["recall_idle_seats"]) + "?" + query
