"""History: the installed license files (each downloadable as sent) and the licensing audit log."""

from collections.abc import Mapping
from typing import Any

from django.contrib.admin.utils import quote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views import View
from wagtail.admin.ui.tables import Column, DateColumn, Table, UserColumn
from wagtail.admin.views.generic.base import BaseListingView
from wagtail.log_actions import registry as log_action_registry
from wagtail.models import ModelLogEntry

from ..models import LicenseFile
from ..rules.filenames import safe_filename
from ..rules.labels import product_label
from .base import LicensingViewMixin
from .columns import ToneTagColumn

# Every licensing audit log action starts with this.
ACTION_PREFIX = "wagtail_licensing."
RECENT_ACTIVITY = 10


def licensing_log_entries() -> QuerySet[ModelLogEntry]:
    return (ModelLogEntry.objects.filter(action__startswith=ACTION_PREFIX)
            .select_related("user", "user__wagtail_userprofile")
            .order_by("-timestamp", "-pk"))


def file_products(license_file: LicenseFile) -> str:
    """"Name (code)" of each product, from the file's own payload (no query)."""
    products = (license_file.payload or {}).get("products") or []
    return ", ".join(product_label(p.get("name"), p.get("code", "")) for p in products)


class DownloadColumn(Column):
    cell_template_name = "wagtail_licensing/tables/download_cell.html"

    def get_cell_context_data(self, instance: Any, parent_context: Mapping[str, Any]
                              ) -> dict[str, Any]:
        context = super().get_cell_context_data(instance, parent_context)
        context["download_url"] = reverse("wagtail_licensing:history_download",
                                          args=[quote(instance.pk)])
        context["filename"] = safe_filename(instance.filename)
        return context


class ActionColumn(Column):
    def get_value(self, instance: ModelLogEntry) -> str:
        try:
            return log_action_registry.get_action_label(instance.action)
        except KeyError:
            return instance.action


class HistoryView(LicensingViewMixin, BaseListingView):
    template_name = "wagtail_licensing/history.html"
    results_template_name = "wagtail_licensing/listing_results.html"
    page_title = _("History")
    header_icon = "history"
    paginate_by = 20
    verbose_name_plural = _("installed license files")

    @property
    def columns(self) -> list[Column]:
        installed_id = self.state.installed_file_id
        return [
            Column("license_id", label=_("License ID")),
            ToneTagColumn("current", label=_("Status"), get_tag=lambda f: (
                (_("Installed"), "positive") if f.pk == installed_id
                else (_("Replaced"), "neutral"))),
            Column("company_id", label=_("Company ID")),
            Column("products", accessor=file_products, label=_("Products")),
            DateColumn("issued_at", label=_("Issued")),
            DateColumn("installed_at", label=_("Installed")),
            UserColumn("installed_by", label=_("Installed by")),
            DownloadColumn("download", label=_("File")),
        ]

    def get_index_url(self) -> str:
        return reverse("wagtail_licensing:history")

    def get_base_queryset(self) -> QuerySet[LicenseFile]:
        return LicenseFile.objects.select_related(
            "installed_by", "installed_by__wagtail_userprofile").order_by("-installed_at", "-pk")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        recent = list(licensing_log_entries()[:RECENT_ACTIVITY])
        context["recent_activity"] = recent
        context["recent_activity_table"] = Table(
            [column for column in ActivityView.columns if column.name != "action"], recent)
        context["activity_url"] = reverse("wagtail_licensing:activity")
        return context


class ActivityView(LicensingViewMixin, BaseListingView):
    """Every licensing entry of Wagtail's audit log, newest first."""

    template_name = "wagtail_licensing/activity.html"
    results_template_name = "wagtail_licensing/listing_results.html"
    page_title = _("Licensing activity")
    header_icon = "history"
    paginate_by = 50
    verbose_name_plural = _("licensing log entries")
    columns = [
        ActionColumn("action", label=_("Action")),
        Column("message", label=_("Message")),
        UserColumn("user", label=_("User"), blank_display_name=_("system")),
        DateColumn("timestamp", label=_("Date / Time")),
    ]

    def get_parent_breadcrumbs(self) -> list[dict[str, Any]]:
        return [{"url": reverse("wagtail_licensing:history"), "label": _("History")}]

    def get_index_url(self) -> str:
        return reverse("wagtail_licensing:activity")

    def get_base_queryset(self) -> QuerySet[ModelLogEntry]:
        return licensing_log_entries()


class DownloadLicenseFileView(LicensingViewMixin, View):
    """The installed file exactly as it was uploaded."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        license_file = get_object_or_404(LicenseFile, pk=pk)
        response = HttpResponse(license_file.content, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=safe_filename(license_file.filename))
        response["X-Content-Type-Options"] = "nosniff"
        return response
