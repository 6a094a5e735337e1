"""Table columns and status labels shared by the License manager screens and the dashboard."""

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.admin.utils import quote
from django.contrib.auth.base_user import AbstractBaseUser
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin.ui.tables import BaseColumn, Column, StatusTagColumn, TitleColumn
from wagtail.admin.widgets.button import Button

from ..conf import licensing_settings
from ..dates import format_day
from ..models import LicensedProduct, ProductType
from ..rules.status import ProductFacts, status_tag


def product_status(product: LicensedProduct) -> tuple[str, str]:
    """``(label, tone)`` of the status tag of a product annotated by ``with_usage()``."""
    return status_tag(ProductFacts.of(product), product.today)


def product_usage(product: LicensedProduct) -> dict[str, Any]:
    """What the usage bar shows: ``{"used", "total", "percent", "tone", "label"}``.

    Named and portal products count seats held; concurrent ones count sessions in use now.
    ``percent`` is None for unlimited products (no bar, just the count).
    """
    used = product.in_use
    total = product.seats
    if total is None:
        percent = None
        tone = "positive"
    else:
        percent = 100 if total == 0 else min(round(used * 100 / total), 100)
        if product.over_allocated or (total and used > total):
            tone = "critical"
        elif total == 0 or used / total >= licensing_settings.SEAT_WARNING_THRESHOLD:
            tone = "warning"
        else:
            tone = "positive"
    if product.type == ProductType.CONCURRENT:
        label = (ngettext("%(used)d session in use, unlimited",
                          "%(used)d sessions in use, unlimited", used) if total is None
                 else ngettext("%(used)d of %(total)d session in use",
                               "%(used)d of %(total)d sessions in use", total))
    else:
        label = (ngettext("%(used)d seat used, unlimited",
                          "%(used)d seats used, unlimited", used) if total is None
                 else ngettext("%(used)d of %(total)d seat used",
                               "%(used)d of %(total)d seats used", total))
    label = label % {"used": used, "total": total}
    if product.over_allocated:
        # "20 of 20 seats used" hides the 13 holders without a seat: say both numbers.
        holders = product.active_holders
        label = ngettext("%(holders)d active holder for %(total)d seats: %(without)d without a "
                         "seat",
                         "%(holders)d active holders for %(total)d seats: %(without)d without "
                         "a seat", holders) % {
            "holders": holders, "total": total, "without": holders - (total or 0)}
    return {"used": used, "total": total, "percent": percent, "tone": tone, "label": label}


def product_url(product_or_code: LicensedProduct | str) -> str:
    code = product_or_code if isinstance(product_or_code, str) else product_or_code.code
    return reverse("wagtail_licensing:product", args=[quote(code)])


class ProductTitleColumn(TitleColumn):
    """The product's name, linked to its page."""

    def __init__(self, name: str = "name", **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Product"))
        kwargs.setdefault("classname", "wl-product-title")
        super().__init__(name, get_url=product_url, **kwargs)


class SeatsColumn(Column):
    """A count that may be None for "unlimited"."""

    def get_value(self, instance: Any) -> Any:
        value = super().get_value(instance)
        return _("Unlimited") if value is None else value


class CalendarDateColumn(Column):
    """A plain calendar date (validity dates are days, not moments)."""

    def get_value(self, instance: Any) -> str:
        return format_day(super().get_value(instance))


class ToneTagColumn(StatusTagColumn):
    """Wagtail's status tag column, coloured by a tone (positive, warning, critical,
    neutral): ``get_tag(instance)`` -> ``(label, tone)``. Wagtail's own only knows "primary"."""

    cell_template_name = "wagtail_licensing/tables/status_cell.html"

    def __init__(self, name: str, get_tag: Callable[[Any], tuple[str | Promise, str]],
                 **kwargs: Any) -> None:
        super().__init__(name, primary=True, **kwargs)
        self.get_tag = get_tag

    def get_value(self, instance: Any) -> str:
        return str(self.get_tag(instance)[0])

    def get_cell_context_data(self, instance: Any, parent_context: Mapping[str, Any]
                              ) -> dict[str, Any]:
        context = super().get_cell_context_data(instance, parent_context)
        context["label"], context["tone"] = self.get_tag(instance)
        return context


class ProductStatusColumn(ToneTagColumn):
    def __init__(self, name: str = "status", **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Status"))
        super().__init__(name, get_tag=product_status, **kwargs)


class UsageColumn(Column):
    cell_template_name = "wagtail_licensing/tables/usage_cell.html"

    def __init__(self, name: str = "usage", **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Usage"))
        super().__init__(name, **kwargs)

    def get_cell_context_data(self, instance: Any, parent_context: Mapping[str, Any]
                              ) -> dict[str, Any]:
        context = super().get_cell_context_data(instance, parent_context)
        context["usage"] = product_usage(instance)
        return context


class TrendColumn(Column):
    """A small sparkline of the last 30 days (``views.usage_chart.trends``): the listing puts
    each row's trend on it as ``usage_trend``, read with one query for all rows."""

    cell_template_name = "wagtail_licensing/tables/trend_cell.html"

    def __init__(self, name: str = "trend", **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Last 30 days"))
        super().__init__(name, **kwargs)

    def get_cell_context_data(self, instance: Any, parent_context: Mapping[str, Any]
                              ) -> dict[str, Any]:
        context = super().get_cell_context_data(instance, parent_context)
        context["trend"] = getattr(instance, "usage_trend", None)
        return context


class UserTitleColumn(TitleColumn):
    """A user with avatar and full name, linked to their account in Settings > Users.

    Not Wagtail's ``UserColumn``: that one is a plain cell (no link, no row buttons, no
    tags); this is the row's title, built on Wagtail's ``TitleColumn`` and its template.

    ``accessor`` gives the user (``lambda user: user`` for a listing of users);
    ``get_tags(instance)`` may return extra ``(label, tone)`` tags shown beside the name (e.g.
    "No seat", "Inactive") and ``get_buttons(instance)`` row buttons (e.g. "Recall").
    """

    cell_template_name = "wagtail_licensing/tables/user_title_cell.html"

    def __init__(self, name: str,
                 get_tags: Callable[[Any], list[tuple[str, str]]] | None = None,
                 get_buttons: Callable[[Any], list[Button]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._get_tags = get_tags
        self._get_buttons = get_buttons

    def get_user(self, instance: Any) -> AbstractBaseUser:
        return super().get_value(instance)

    def get_value(self, instance: Any) -> str:
        user = self.get_user(instance)
        try:
            full_name = user.get_full_name().strip()  # type: ignore[attr-defined]
        except AttributeError:
            full_name = ""
        return full_name or user.get_username()

    def get_link_url(self, instance: Any, parent_context: Mapping[str, Any]) -> str:
        return reverse("wagtailusers_users:edit", args=[quote(self.get_user(instance).pk)])

    def get_cell_context_data(self, instance: Any, parent_context: Mapping[str, Any]
                              ) -> dict[str, Any]:
        context = super().get_cell_context_data(instance, parent_context)
        context["user"] = self.get_user(instance)
        context["tags"] = self._get_tags(instance) if self._get_tags else []
        context["buttons"] = sorted(self._get_buttons(instance)) if self._get_buttons else []
        return context


class SelectColumn(BaseColumn):
    """A checkbox per row, named ``field_name``, with a "select all" box in the header.

    Not Wagtail's ``BulkActionsCheckboxColumn``: those checkboxes have no name and feed the
    bulk-actions footer script; these are fields of the product page's own Grant and Recall
    forms, posted with the form.

    Uses Wagtail's ``w-bulk`` Stimulus controller, which the surrounding element must declare
    (``data-controller="w-bulk"``). ``get_value(instance)`` gives the checkbox value (the
    user's pk) and ``get_label(instance)`` its accessible name.
    """

    header_template_name = "wagtail_licensing/tables/select_all_header.html"
    cell_template_name = "wagtail_licensing/tables/select_cell.html"

    def __init__(self, name: str = "select", field_name: str = "user",
                 get_value: Callable[[Any], Any] | None = None,
                 get_label: Callable[[Any], str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Select"))
        kwargs.setdefault("width", "1%")
        super().__init__(name, **kwargs)
        self.field_name = field_name
        self._get_value = get_value or (lambda instance: instance.pk)
        self._get_label = get_label or str

    def get_cell_context_data(self, instance: Any, parent_context: Mapping[str, Any]
                              ) -> dict[str, Any]:
        context = super().get_cell_context_data(instance, parent_context)
        context["field_name"] = self.field_name
        context["value"] = self._get_value(instance)
        context["label"] = self._get_label(instance)
        return context
