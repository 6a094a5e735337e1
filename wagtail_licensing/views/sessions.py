"""Concurrent sessions: who holds the concurrent-license slots, and releasing one."""



from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.tables import Column, DateColumn, UserColumn
from wagtail.admin.views.generic.base import BaseListingView

from .. import operations
from ..conf import licensing_settings
from ..models import ConcurrentSession, LicensedProduct, ProductType
from .base import LicensingViewMixin
from .names import SESSIONS_NAMESPACE

URL_NAMESPACE = SESSIONS_NAMESPACE


def index_url() -> str:
    return reverse(f"{URL_NAMESPACE}:index")


def active_sessions() -> QuerySet[ConcurrentSession]:
    """Sessions holding a slot now: idle ones (no request for CONCURRENT_IDLE_MINUTES) are free."""
    return (ConcurrentSession.objects.live()
            .select_related("user", "user__wagtail_userprofile")
            .order_by("product_code", "started_at", "pk"))


class ReleaseColumn(Column):
    cell_template_name = "wagtail_licensing/enforcement/release_cell.html"

    def get_cell_context_data(self, instance: Any, parent_context: Any) -> dict[str, Any]:
        context = super().get_cell_context_data(instance, parent_context)
        context["release_url"] = reverse(f"{URL_NAMESPACE}:release", args=[instance.pk])
        return context


class SessionsView(LicensingViewMixin, BaseListingView):
    template_name = "wagtail_licensing/enforcement/sessions.html"
    results_template_name = "wagtail_licensing/listing_results.html"
    page_title = gettext_lazy("Concurrent sessions")
    header_icon = "time"
    paginate_by = 50
    verbose_name_plural = gettext_lazy("concurrent sessions")

    @property
    def columns(self) -> list[Column]:
        names = self.product_names
        return [
            UserColumn("user", label=_("User")),
            # Full names are not unique: two "Sam Jones" are told apart by their usernames.
            Column("username", label=_("Username"), accessor=lambda s: s.user.get_username()),
            Column("product", label=_("Product"),
                   accessor=lambda s: names.get(s.product_code, s.product_code)),
            DateColumn("started_at", label=_("Signed in")),
            DateColumn("last_seen", label=_("Last request")),
            ReleaseColumn("release", label=""),
        ]

    @property
    def product_names(self) -> dict[str, str]:
        if not hasattr(self, "_product_names"):
            self._product_names = {
                p.code: p.label for p in self.products}
        return self._product_names

    @property
    def products(self) -> list[LicensedProduct]:
        if not hasattr(self, "_products"):
            installed = self.state.installed_file_id
            self._products = [] if installed is None else list(
                LicensedProduct.objects.filter(license_file_id=installed,
                                               type=ProductType.CONCURRENT)
                .with_usage().order_by("code"))
        return self._products

    def get_index_url(self) -> str:
        return index_url()

    def get_base_queryset(self) -> QuerySet:
        return active_sessions()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["concurrent_products"] = self.products
        context["idle_minutes"] = licensing_settings.CONCURRENT_IDLE_MINUTES
        return context


class ReleaseSlotView(LicensingViewMixin, TemplateView):
    template_name = "wagtail_licensing/enforcement/release_confirm.html"
    page_title = gettext_lazy("Release a concurrent license slot")
    header_icon = "time"

    def get_parent_breadcrumbs(self) -> list[dict[str, Any]]:
        return [{"url": index_url(), "label": _("Concurrent sessions")}]

    def get_session(self) -> ConcurrentSession:
        return get_object_or_404(ConcurrentSession.objects.select_related("user"),
                                 pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        session = self.get_session()
        product = LicensedProduct.objects.filter(
            license_file_id=self.state.installed_file_id, code=session.product_code).first()
        context.update({"session": session, "product": product, "index_url": index_url()})
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = self.get_session()
        released = operations.release_concurrent_slots([session], user=request.user)
        if released:
            messages.success(request, _(
                "Released the %(product)s slot of %(user)s: their sessions are signed out on "
                "their next request.") % {"product": session.product_code,
                                     "user": session.user.get_username()})
        return redirect(index_url())
