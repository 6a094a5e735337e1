"""A product's page: its details and holders (searchable, paginated), recall and "Add users"."""


from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.tables import Column, DateColumn, UserColumn
from wagtail.admin.views.generic.base import BaseListingView
from wagtail.admin.widgets.button import HeaderButton, ListingButton

from .. import operations, wording
from ..dates import format_day, site_today
from ..enforcement import alert_key
from ..exceptions import LicensingError
from ..filters import search_fields
from ..forms import UserSelectionForm
from ..models import (
    AssignmentSource,
    GroupLicenseSource,
    LicenseAssignment,
    LicensedProduct,
    LicensingState,
    has_field,
)
from ..rules.status import Alert, AlertKind, ProductFacts
from .base import LicensingViewMixin
from .columns import (
    CalendarDateColumn,
    SelectColumn,
    ToneTagColumn,
    UserTitleColumn,
    product_status,
    product_usage,
)
from .feedback import report
from .usage_chart import DEFAULT_RANGE, RANGES, product_chart
from .user_listing import KeysFirstPaginator


def assignment_source(assignment: LicenseAssignment) -> str:
    """"Manual", "Group", or "Manual and group": where a holder's seat comes from."""
    if not assignment.direct:
        return str(_("Group"))
    if getattr(assignment, "_via_groups", False):
        return _("%(source)s and group") % {"source": assignment.get_source_display()}
    return str(assignment.get_source_display())


if TYPE_CHECKING:  # what the product mixin is mixed into, for the type checker only
    from django.views.generic.base import ContextMixin, View

    class _ViewBase(ContextMixin, View):
        @property
        def state(self) -> LicensingState: ...
else:
    _ViewBase = object

# Names of selected users listed on a confirmation page before "and N more".
NAMES_LISTED = 50


def user_search_fields(prefix: str = "") -> list[str]:
    """System users' search fields, reached from another model through ``prefix``."""
    return [prefix + name for name in search_fields(get_user_model())]


def seat_tag(assignment: LicenseAssignment) -> tuple[Promise, str]:
    if not assignment.user.is_active:
        return gettext_lazy("Inactive"), "neutral"
    if not assignment.has_seat:
        return gettext_lazy("No seat"), "critical"
    return gettext_lazy("Licensed"), "positive"


class ProductMixin(_ViewBase):
    """Finds the product of the URL, after the permission check (so nothing leaks)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.product is None and not self.held:
            raise Http404(_("No such product."))
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def code(self) -> str:
        return self.kwargs["code"]

    @cached_property
    def product(self) -> LicensedProduct | None:
        """The installed product, with usage; None if the installed license lacks it."""
        if self.state.installed_file_id is None:
            return None
        return (LicensedProduct.objects.filter(license_file_id=self.state.installed_file_id,
                                               code=self.code).with_usage().first())

    @cached_property
    def held(self) -> bool:
        return LicenseAssignment.objects.filter(product_code=self.code).exists()

    @cached_property
    def product_label(self) -> str:
        return self.product.name if self.product else self.code

    @cached_property
    def product_url(self) -> str:
        return reverse("wagtail_licensing:product", args=[quote(self.code)])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        product = self.product
        context.update({
            "code": self.code,
            "product": product,
            "product_url": self.product_url,
            "grant_url": reverse("wagtail_licensing:product_grant", args=[quote(self.code)]),
            "recall_url": reverse("wagtail_licensing:product_recall", args=[quote(self.code)]),
        })
        if product is not None:
            context["status_label"], context["status_tone"] = product_status(product)
            context["usage"] = product_usage(product)
            context["grant_refusal"] = self.grant_refusal()
            if product.over_allocated:  # the page says so: not the banner a second time
                context["licensing_alerts_shown"] = [
                    alert_key(Alert(AlertKind.OVER_ALLOCATED, ProductFacts.of(product)))]
        return context

    def grant_refusal(self) -> str | None:
        """Why the product cannot be granted today, or None."""
        product = self.product
        if product is None:
            return _("%(code)s is not a product of the installed license, so it cannot be "
                     "granted.") % {"code": self.code}
        if not product.is_grantable_on(site_today()):
            return _("%(name)s is valid from %(from)s until %(until)s, so it cannot be granted "
                     "today.") % {"name": product.name, "from": format_day(product.valid_from),
                                  "until": format_day(product.valid_until)}
        if product.counts_seats and product.available == 0:
            return ngettext(
                "The only seat of %(name)s is taken. Recall it from its holder or ask your "
                "vendor for more seats.",
                "All %(seats)d seats of %(name)s are taken. Recall it from other users or "
                "ask your vendor for more seats.", product.seats or 0,
            ) % {"seats": product.seats, "name": product.name}
        return None


class ProductView(LicensingViewMixin, ProductMixin, BaseListingView):
    """The product's details and the users who hold it."""

    template_name = "wagtail_licensing/product.html"
    results_template_name = "wagtail_licensing/product_results.html"
    paginate_by = 20
    is_searchable = True
    search_backend_name = None  # search the user fields with the ORM
    default_ordering = "granted_at"
    verbose_name_plural = gettext_lazy("holders")

    def get_page_title(self) -> str:
        return self.product_label

    def get_header_buttons(self) -> list[HeaderButton]:
        buttons = []
        if self.product is not None:
            buttons.append(HeaderButton(
                _("Add users"),
                url=reverse("wagtail_licensing:product_grant", args=[quote(self.code)]),
                icon_name="plus", priority=10))
        return buttons

    @cached_property
    def search_fields(self) -> list[str]:
        return user_search_fields("user__")

    @cached_property
    def columns(self) -> list[Column]:
        username = get_user_model().USERNAME_FIELD
        return [
            SelectColumn(get_value=lambda a: a.user_id,
                         get_label=lambda a: _("Select %(user)s") % {"user": a.user}),
            UserTitleColumn("user", label=_("Name"), sort_key=f"user__{username}",
                            get_buttons=self.get_row_buttons),
            Column("username", accessor=f"user.{username}", label=_("Username")),
            ToneTagColumn("seat", get_tag=seat_tag, label=_("Seat"), sort_key="has_seat"),
            DateColumn("granted_at", label=_("Granted"), sort_key="granted_at"),
            CalendarDateColumn("last_active_on", label=_("Last active"),
                               sort_key="last_active_on"),
            UserColumn("granted_by", label=_("Granted by")),
            Column("source", accessor=assignment_source, label=_("Source")),
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.product is not None and not self.results_only:
            chart_range = self.request.GET.get("usage", DEFAULT_RANGE)
            if chart_range not in RANGES:
                chart_range = DEFAULT_RANGE
            context.update({
                "chart": product_chart(self.product, chart_range),
                "chart_range": chart_range,
                "chart_ranges": [(key, label) for key, (_days, label) in RANGES.items()],
            })
        return context

    def get_row_buttons(self, assignment: LicenseAssignment) -> list[ListingButton]:
        url = reverse("wagtail_licensing:product_recall", args=[quote(self.code)])
        return [ListingButton(_("Recall"), url=f"{url}?user={quote(assignment.user_id)}",
                              attrs={"aria-label": _("Recall from %(user)s")
                                     % {"user": assignment.user}}, priority=10)]

    def get_index_url(self) -> str:
        return self.product_url

    def get_index_results_url(self) -> str:
        return reverse("wagtail_licensing:product_results", args=[quote(self.code)])

    def get_base_queryset(self) -> QuerySet:
        return LicenseAssignment.objects.filter(product_code=self.code).select_related(
            "user", "user__wagtail_userprofile", "granted_by", "granted_by__wagtail_userprofile"
        ).annotate(_via_groups=Exists(GroupLicenseSource.objects.filter(
            user_id=OuterRef("user_id"), product_code=OuterRef("product_code"))))

    def order_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().order_queryset(queryset)
        # A unique tie-breaker keeps pages stable.
        return queryset.order_by(*queryset.query.order_by, "pk")


class ProductRecallView(LicensingViewMixin, ProductMixin, TemplateView):
    """Confirm, then recall the product from the selected holders."""

    template_name = "wagtail_licensing/recall_confirm.html"

    def get_page_title(self) -> str:
        return _("Recall %(product)s") % {"product": self.product_label}

    def get_parent_breadcrumbs(self) -> list[dict[str, Any]]:
        return [{"url": self.product_url, "label": self.product_label}]

    def get_form(self, data: Any) -> UserSelectionForm:
        holders = get_user_model()._default_manager.filter(
            pk__in=LicenseAssignment.objects.filter(product_code=self.code).values("user_id"))
        return UserSelectionForm(data, queryset=holders)

    def invalid(self, form: UserSelectionForm) -> HttpResponse:
        for error in form.errors.get("user", []):
            messages.error(self.request, error)
        return redirect(self.product_url)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.get_form(request.GET)
        if not form.is_valid():
            return self.invalid(form)
        users = list(form.cleaned_data["user"].order_by(get_user_model().USERNAME_FIELD))
        return self.render_to_response(self.get_context_data(
            form=form, users=users[:NAMES_LISTED], more=max(len(users) - NAMES_LISTED, 0),
            count=len(users)))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.invalid(form)
        try:
            result = operations.recall(form.cleaned_data["user"], [self.code], user=request.user,
                                       source=AssignmentSource.MANUAL)
        except LicensingError as error:
            messages.error(request, error.message)
        else:
            report(request, wording.messages(result))
        return redirect(self.product_url)


class ProductGrantView(LicensingViewMixin, ProductMixin, BaseListingView):
    """"Add users": the users who could hold the product, to tick and grant it to."""

    template_name = "wagtail_licensing/grant.html"
    results_template_name = "wagtail_licensing/grant_results.html"
    paginate_by = 20
    paginator_class = KeysFirstPaginator  # sorted by last login: keys first
    is_searchable = True
    search_backend_name = None
    verbose_name_plural = gettext_lazy("users who could hold this product")

    def get_page_title(self) -> str:
        return _("Add users")

    def get_page_subtitle(self) -> str:
        return self.product_label

    def get_parent_breadcrumbs(self) -> list[dict[str, Any]]:
        return [{"url": self.product_url, "label": self.product_label}]

    @cached_property
    def search_fields(self) -> list[str]:
        return user_search_fields()

    @cached_property
    def default_ordering(self) -> str:
        return get_user_model().USERNAME_FIELD

    @cached_property
    def columns(self) -> list[Column]:
        User = get_user_model()
        username = User.USERNAME_FIELD
        columns = [
            SelectColumn(get_label=lambda u: _("Select %(user)s") % {"user": u}),
            UserTitleColumn("user", accessor=lambda user: user, label=_("Name")),
            Column("username", accessor=username, label=_("Username"), sort_key=username),
        ]
        if has_field(User, "email"):
            columns.append(Column("email", label=_("Email")))
        if has_field(User, "last_login"):
            columns.append(DateColumn("last_login", label=_("Last login"),
                                      sort_key="last_login"))
        return columns

    def get_index_url(self) -> str:
        return reverse("wagtail_licensing:product_grant", args=[quote(self.code)])

    def get_index_results_url(self) -> str:
        return reverse("wagtail_licensing:product_grant_results", args=[quote(self.code)])

    def get_base_queryset(self) -> QuerySet:
        """Active users of the right kind (portal or not) who do not hold the product yet."""
        product = self.product
        if product is None:
            return get_user_model()._default_manager.none()
        return product.grant_candidates().prefetch_related("wagtail_userprofile")

    def get_paginator(self, queryset: QuerySet, per_page: int, *args: Any,
                      **kwargs: Any) -> Paginator:
        paginator = super().get_paginator(queryset, per_page, *args, **kwargs)
        if self.product is not None and not self.is_searching:
            # The exact count from the user census and the kept counters (one query),
            # instead of an anti-join over every user: the same at any number of users.
            paginator.count = self.product.grant_candidate_count()
        return paginator

    def order_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().order_queryset(queryset)
        return queryset.order_by(*queryset.query.order_by, "pk")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.product is None:
            messages.error(request, self.grant_refusal())
            return redirect(self.product_url)
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = UserSelectionForm(request.POST)
        if not form.is_valid():
            for error in form.errors.get("user", []):
                messages.error(request, error)
            return redirect(self.get_index_url())
        try:
            result = operations.grant(form.cleaned_data["user"], [self.code], user=request.user,
                                      source=AssignmentSource.MANUAL)
        except LicensingError as error:
            messages.error(request, error.message)
            return redirect(self.get_index_url())
        report(request, wording.messages(result))
        if result.granted_count:
            return redirect(self.product_url)
        return redirect(self.get_index_url())
