"""Export license assignments as CSV, XLSX or JSON.

``?format=csv|xlsx|json`` downloads the file; without it the page offers the formats. The
query string's other parameters are the System users listing's filters: when they are given,
only the assignments of the users that listing shows are exported (and, when it filters by
product, only those products). The License manager links here without filters: everything.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from ..filters import SystemUserFilterSet, filter_users
from ..formats import EXPORT_FORMATS
from ..formats.streaming import SLOW_EXPORT_SECONDS, expected_seconds
from ..models import LicenseAssignment
from ..resources import LicenseAssignmentResource, stream_assignments
from ..rules.filenames import safe_filename
from .base import LicensingViewMixin

FORMAT_PARAMS = ("format", "export")  # "export" is what Wagtail's own listings use
FORMAT_LABELS = {"csv": gettext_lazy("CSV (Excel, LibreOffice)"),
                 "xlsx": gettext_lazy("Excel workbook (.xlsx)"),
                 "json": gettext_lazy("JSON")}
# Query-string keys that are never filters.
NON_FILTER_PARAMS = {*FORMAT_PARAMS, "p", "ordering", "_w_filter_fragment"}


class ExportView(LicensingViewMixin, TemplateView):
    template_name = "wagtail_licensing/assignments/export.html"
    page_title = gettext_lazy("Export license assignments")
    header_icon = "download"

    def filter_params(self) -> dict[str, list[str]]:
        return {key: self.request.GET.getlist(key) for key in self.request.GET
                if key not in NON_FILTER_PARAMS and any(self.request.GET.getlist(key))}

    def get_selection(self) -> tuple[QuerySet | None, list[str] | None,
                                     SystemUserFilterSet | None]:
        """``(users queryset or None, product codes or None, filterset or None)``."""
        if not self.filter_params():
            return None, None, None
        users = get_user_model()._default_manager.all()
        filterset = SystemUserFilterSet(self.request.GET, queryset=users, request=self.request)
        # The listing's users: its filters and its search, as the listing selects them.
        users = filter_users(self.request.GET, users, filterset=filterset)
        products = None
        if filterset.is_valid():
            products = filterset.form.cleaned_data.get("product") or None
        return users, products, filterset

    # A download is a StreamingHttpResponse, which Django's stubs do not allow TemplateView.get.
    def get(  # type: ignore[override]
            self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        users, products, self.filterset = self.get_selection()
        format = next((request.GET[p] for p in FORMAT_PARAMS if request.GET.get(p)), None)
        filters_valid = self.filterset is None or self.filterset.is_valid()
        if format in EXPORT_FORMATS and filters_valid:
            return self.download(format, users, products)
        self.invalid_format = format
        self.users, self.products = users, products
        return super().get(request, *args, **kwargs)

    def download(self, format: str, users: QuerySet | None,
                 products: Iterable[str] | None) -> HttpResponseBase:
        """The file, streamed as its rows are read (constant memory, first bytes at once)."""
        export = stream_assignments(format, users=users, product_codes=products)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True,
            filename=safe_filename(f"license-assignments-{stamp}.{export.extension}"))
        response["X-Accel-Buffering"] = "no"  # nginx: pass the chunks on as they come
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = self.filter_params()
        count = LicenseAssignmentResource(users=self.users, product_codes=self.products).count()
        formats: list[dict[str, Any]] = []
        for name in EXPORT_FORMATS:
            query = urlencode({**params, "format": name}, doseq=True)
            formats.append({"name": name, "label": FORMAT_LABELS[name], "url": f"?{query}",
                            "seconds": expected_seconds(name, count)})
        slow = [f for f in formats if f["seconds"] > SLOW_EXPORT_SECONDS]
        context.update({
            "formats": formats,
            "slow_formats": slow,
            "filtered": bool(params),
            "assignment_count": count,
            "total_count": LicenseAssignment.objects.count() if params else count,
            "invalid_format": self.invalid_format,
            "filter_errors": (self.filterset.errors if self.filterset is not None
                              and not self.filterset.is_valid() else None),
        })
        return context
