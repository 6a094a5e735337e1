"""System users: every user with their licenses, the page of one user's licenses, portal users.

The views of ``viewsets.SystemUsersViewSet``. Access is CanManageLicUsers through the licensing
permission policy, not the user model's permissions, so a license manager who may not edit
accounts still distributes licenses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django import forms
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise, cached_property
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.ui.tables import (
    BooleanColumn,
    BulkActionsCheckboxColumn,
    Column,
    DateColumn,
    TitleColumn,
)
from wagtail.admin.utils import get_user_display_name
from wagtail.admin.views import generic
from wagtail.admin.widgets.button import Button, HeaderButton

from .. import operations, wording
from ..compat import ListingMenuItem
from ..exceptions import LicensingError
from ..filters import SystemUserFilterSet, filter_users, kept_user_count, search_fields
from ..formats.streaming import XLSX_CONTENT_TYPE, stream_xlsx
from ..models import LicensedProduct, ProductType, portal_user_sort_key
from ..permissions import MANAGE, permission_policy
from ..rules.escaping import escape_formula
from ..status import installed_products
from ..user_forms import PortalUserForm, UserLicensesForm
from .base import LicensingPermissionMixin
from .feedback import report
from .names import ASSIGNMENTS_NAMESPACE, SYSTEM_USERS_NAMESPACE
from .user_listing import (
    GROUPS_ATTRIBUTE,
    PORTAL_ANNOTATION,
    PROBLEM_ANNOTATION,
    KeysFirstPaginator,
    row_url,
    url_name,
    user_url,
    with_licensing,
)

URL_NAMESPACE = SYSTEM_USERS_NAMESPACE
ASSIGNMENTS_EXPORT_URL_NAME = f"{ASSIGNMENTS_NAMESPACE}:export"


def wagtail_user_edit_url(request: HttpRequest, user: Any) -> str | None:
    """The user's page in Settings > Users, if the request's user may edit accounts."""
    edit_url = wagtail_user_edit_urls(request)
    return edit_url(user) if edit_url else None


def wagtail_user_edit_urls(request: HttpRequest) -> Callable[[Any], str | None] | None:
    """``wagtail_user_edit_url`` for the rows of a listing: the permission checked and the
    URL reversed once (``row_url``); None if the request's user may not edit accounts."""
    opts = get_user_model()._meta
    # What Wagtail's user permission policy checks, on every supported Wagtail release.
    if not request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}"):
        return None
    edit_url = row_url("wagtailusers_users:edit")

    def each_row(user: Any) -> str | None:
        try:
            return edit_url(user)
        except NoReverseMatch:  # Settings > Users not mounted, or a key its URL refuses
            return None

    return each_row


def user_listing_buttons(user: Any, request_user: Any) -> list[Button]:
    """A "Licenses" entry in each row's menu of Settings > Users, for license managers.

    Called for every row: the permission and the URL pattern (``row_url``) are looked up once
    and kept on the request's user, as Django keeps its permissions (``_perm_cache``).
    """
    try:
        licenses_url = request_user._licensing_row_licenses_url
    except AttributeError:
        licenses_url = (row_url(url_name("user"))
                        if permission_policy.user_has_permission(request_user, MANAGE) else None)
        request_user._licensing_row_licenses_url = licenses_url
    if licenses_url is None:
        return []
    return [Button(_("Licenses"), url=licenses_url(user), icon_name="key", priority=50)]


def license_manager_actions(request: HttpRequest) -> list[Button]:
    """"Add portal user" in the License manager's Actions dropdown (also in System users)."""
    return [Button(_("Add portal user"), url=reverse(url_name("add_portal_user")),
                   icon_name="user", priority=70)]


def license_tags(user: Any, products: Mapping[str, LicensedProduct]) -> list[dict[str, Any]]:
    """``[{"code", "label", "has_seat", "installed"}]`` for the listing's license tags."""
    tags: list[dict[str, Any]] = []
    for assignment in getattr(user, "_licensing_assignments", ()):
        product = products.get(assignment.product_code)
        tags.append({
            "code": assignment.product_code,
            "label": product.name if product else assignment.product_code,
            "has_seat": assignment.has_seat and user.is_active and product is not None,
            "installed": product is not None,
            "inherited": not assignment.direct,  # held through a group only
        })
    return tags


def user_type_label(user: Any) -> str:
    if getattr(user, PORTAL_ANNOTATION, False):
        return gettext("Portal user")
    return gettext("Employee")


class UserNameColumn(TitleColumn):
    """Avatar and name, linked to the user's licenses (Wagtail's own user cell template)."""

    cell_template_name = "wagtailusers/users/user_cell.html"


class PythonCellColumn(Column):
    """A column whose cell is written in Python (``format_html``) rather than a template.

    A listing page renders 50 cells of each column; a template per cell (a context, a render,
    its ``{% trans %}`` tags) costs more than the rest of what the licensing columns add to
    Wagtail's own Users listing. ``cell_html`` returns the ``<td>``'s content.
    """

    def render_cell_html(self, instance: Any, parent_context: Any) -> SafeString:
        if self.classname:
            return format_html('<td class="{}">{}</td>', self.classname,
                               self.cell_html(instance))
        return format_html("<td>{}</td>", self.cell_html(instance))

    def cell_html(self, instance: Any) -> SafeString:
        raise NotImplementedError


class UsernameEmailColumn(PythonCellColumn):
    def cell_html(self, instance: Any) -> SafeString:
        username = instance.get_username()
        email = getattr(instance, instance.get_email_field_name(), "") or ""
        if email and email != username:
            return format_html('{}<div class="wl-muted">{}</div>', username, email)
        return format_html("{}", username)


class TypeColumn(PythonCellColumn):
    def cell_html(self, instance: Any) -> SafeString:
        if getattr(instance, PORTAL_ANNOTATION, False):
            return format_html('<span class="w-status w-status--primary">{}</span>',
                               gettext("Portal user"))
        return format_html("{}", gettext("Employee"))


class GroupsColumn(PythonCellColumn):
    def get_value(self, instance: Any) -> list[str]:
        groups = getattr(instance, GROUPS_ATTRIBUTE, None)  # with_licensing's prefetch
        if groups is None:
            if not hasattr(instance, "groups"):
                return []
            groups = instance.groups.all()
        # Sorted in Python: ordering the prefetch would not change the query count.
        return sorted((group.name for group in groups), key=str.casefold)

    def cell_html(self, instance: Any) -> SafeString:
        return format_html("{}", ", ".join(self.get_value(instance)))


class LicensesColumn(PythonCellColumn):
    def __init__(self, name: str, get_products: Callable[[], Mapping[str, LicensedProduct]],
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.get_products = get_products

    @cached_property
    def texts(self) -> dict[str, str]:
        """The cell's words, translated once per listing (the column lives for one request)."""
        return {
            "not_installed": gettext("Not in the installed license"),
            "inherited": gettext("Through a group"),
            "inherited_sr": gettext("(through a group)"),
            "no_seat": gettext(
                "No seat: no access until a seat is freed or the user is activated"),
            "no_seat_sr": gettext("(no seat)"),
            "problem_title": gettext(
                "A bound group could not give this user a license: see Licensing > Groups"),
            "problem": gettext("Licensing problem"),
        }

    def tag_html(self, tag: Mapping[str, Any]) -> SafeString:
        texts = self.texts
        if not tag["installed"]:
            return format_html(
                '<span class="w-status wl-license-tag--not-installed" title="{}">{}</span>',
                texts["not_installed"], tag["label"])
        if tag["has_seat"]:
            if tag["inherited"]:
                return format_html(
                    '<span class="w-status w-status--primary" title="{}" data-inherited>{} '
                    '<span class="w-sr-only">{}</span><span aria-hidden="true">⇄</span></span>',
                    texts["inherited"], tag["label"], texts["inherited_sr"])
            return format_html('<span class="w-status w-status--primary" title="{}">{}</span>',
                               tag["code"], tag["label"])
        return format_html(
            '<span class="w-status wl-license-tag--no-seat" title="{}">{} '
            '<span class="w-sr-only">{}</span><span aria-hidden="true">⊘</span></span>',
            texts["no_seat"], tag["label"], texts["no_seat_sr"])

    def cell_html(self, instance: Any) -> SafeString:
        tags = license_tags(instance, self.get_products())
        items = [format_html("<li>{}</li>", self.tag_html(tag)) for tag in tags]
        if getattr(instance, PROBLEM_ANNOTATION, False):
            items.append(format_html(
                '<li><span class="w-status w-status--label wl-license-tag--problem" '
                'data-licensing-problem title="{}">{} <span aria-hidden="true">⚠</span>'
                "</span></li>", self.texts["problem_title"], self.texts["problem"]))
        if not items:
            return SafeString("")
        return format_html('<ul class="wl-license-tags">{}</ul>', SafeString("".join(items)))


class ChunkedUsers:
    """What the export iterates: the users in chunks, each chunk with its prefetches.

    Prefetching the whole listing at once would put every user's key into one ``IN (...)``;
    chunks keep memory and query size bounded at 100,000 users.
    """

    def __init__(self, queryset: QuerySet, chunk_size: int = 2000) -> None:
        self.model = queryset.model
        self.queryset = queryset
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[Any]:
        return self.queryset.iterator(chunk_size=self.chunk_size)


class IndexView(LicensingPermissionMixin, generic.IndexView):
    """Every user, with filters, search, ordering, pagination and a spreadsheet export."""

    template_name = "wagtail_licensing/system_users/index.html"
    results_template_name = "wagtail_licensing/system_users/index_results.html"
    page_title = _("System users")
    header_icon = "group"
    paginate_by = 50
    paginator_class = KeysFirstPaginator
    filterset_class = SystemUserFilterSet
    export_filename = "system-users"

    @cached_property
    def model_fields(self) -> set[str]:
        return {f.name for f in self.model._meta.get_fields()}

    @cached_property
    def default_ordering(self) -> str:
        # As Settings > Users: the username's unique index gives the first page without
        # reading, let alone sorting, every user (the user table has no index on names).
        return self.model.USERNAME_FIELD

    @cached_property
    def search_fields(self) -> list[str]:
        return search_fields(self.model)

    @cached_property
    def is_searchable(self) -> bool:
        # Always the database search (filters.search_users), never a search index: the bulk
        # actions' "select all" and the assignment export must find the same users.
        return bool(self.search_fields and self.index_results_url)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # The one definition of the listing's users (filters and search), which the bulk
        # actions' "select all" and the assignment export use too.
        return filter_users(self.request.GET, queryset, filterset=self.filters)

    def search_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset  # filter_queryset searched already

    def get_paginator(self, queryset: QuerySet, per_page: int, *args: Any,
                      **kwargs: Any) -> Paginator:
        paginator = super().get_paginator(queryset, per_page, *args, **kwargs)
        if self.filters is not None:
            # One product ticked, holds a license or not, a status or a type: the count
            # from the kept counters and census, instead of a probe per user.
            kept = kept_user_count(self.filters, self.request.GET.get("q"))
            if kept is not None:
                paginator.count = kept
        return paginator

    @cached_property
    def products(self) -> dict[str, LicensedProduct]:
        """Installed products by code, read once per page."""
        return {product.code: product for product in installed_products()}

    @cached_property
    def has_names(self) -> bool:
        return self.model_fields.issuperset({"first_name", "last_name"})

    @cached_property
    def columns(self) -> list[Column]:
        # Wagtail wires the title column to get_list_buttons() (the "..." dropdown).
        name_column_class = self._get_title_column_class(UserNameColumn)
        return [
            BulkActionsCheckboxColumn("bulk_actions", obj_type="user"),
            name_column_class(
                "name", accessor=get_user_display_name, label=_("Name"),
                sort_key="name" if self.has_names else None, get_url=self.user_url,
                classname="name wl-user-name"),
            UsernameEmailColumn(
                "username", label=_("Username / e-mail"), sort_key=self.model.USERNAME_FIELD,
                classname="username"),
            BooleanColumn(
                "is_active", label=_("Active"),
                sort_key="is_active" if "is_active" in self.model_fields else None,
                width="8%"),
            TypeColumn("type", label=_("Type"), sort_key=PORTAL_ANNOTATION, width="10%"),
            GroupsColumn("groups", label=_("Groups")),
            LicensesColumn("licenses", get_products=lambda: self.products,
                           label=_("Licenses")),
            DateColumn("last_login", label=_("Last login"), sort_key="last_login",
                       width="12%"),
        ]

    # Each row's URLs, reversed once for the page (row_url) and the permission checked once.

    @cached_property
    def user_url(self) -> Callable[[Any], str]:
        return row_url(url_name("user"))

    @cached_property
    def convert_url(self) -> Callable[[Any], str]:
        return row_url(url_name("convert_to_portal_user"))

    @cached_property
    def edit_url(self) -> Callable[[Any], str | None] | None:
        return wagtail_user_edit_urls(self.request)

    def get_list_more_buttons(self, instance: Any) -> list[Any]:
        buttons = [ListingMenuItem(_("Licenses"), url=self.user_url(instance), icon_name="key",
                                   priority=10)]
        if self.edit_url is not None and (edit_url := self.edit_url(instance)):
            buttons.append(ListingMenuItem(_("Edit user"), url=edit_url, icon_name="edit",
                                           priority=20))
        if not getattr(instance, PORTAL_ANNOTATION, False) and not instance.is_superuser:
            buttons.append(ListingMenuItem(
                _("Convert to portal user"), url=self.convert_url(instance),
                icon_name="user", priority=30))
        return buttons

    def get_base_queryset(self) -> QuerySet:
        return with_licensing(self.model._default_manager.all())

    def order_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.ordering in ("name", "-name") and self.has_names:
            sign = "-" if self.ordering.startswith("-") else ""
            return queryset.order_by(f"{sign}last_name", f"{sign}first_name",
                                     f"{sign}{self.model.USERNAME_FIELD}", "pk")
        if self.ordering in ("last_login", "-last_login"):
            # Users who never logged in count as the oldest, on every database (PostgreSQL
            # would put them first when sorting the most recent first).
            last_login = F("last_login")
            order = (last_login.desc(nulls_last=True) if self.ordering.startswith("-")
                     else last_login.asc(nulls_first=True))
            return queryset.order_by(order, "pk")
        if self.ordering.lstrip("-") == PORTAL_ANNOTATION:
            key = portal_user_sort_key()
            return queryset.order_by(
                key.desc() if self.ordering.startswith("-") else key.asc(), "pk")
        queryset = super().order_queryset(queryset)
        # A unique last key keeps pagination stable when many users share a value.
        if queryset.query.order_by:
            return queryset.order_by(*queryset.query.order_by, "pk")
        return queryset.order_by(self.model.USERNAME_FIELD, "pk")

    @cached_property
    def header_buttons(self) -> list[HeaderButton]:
        buttons = [HeaderButton(_("Add portal user"), url=reverse(url_name("add_portal_user")),
                                icon_name="plus")]
        export_url = reverse(ASSIGNMENTS_EXPORT_URL_NAME)
        params = self.request.GET.copy()
        for key in ("p", "export", "_w_filter_fragment"):
            params.pop(key, None)
        query = params.urlencode()
        buttons.append(HeaderButton(
            _("Export licenses"), url=f"{export_url}?{query}" if query else export_url,
            icon_name="download", priority=20))
        return buttons

    @cached_property
    def header_more_buttons(self) -> list[Button]:
        # As in Creatio, the license file's two steps are in System users' actions too, before
        # the listing's own downloads (Wagtail's XLSX and CSV, priorities 90 and 100).
        return [
            Button(_("Request license"), url=reverse("wagtail_licensing:request"),
                   icon_name="download", priority=10),
            Button(_("Upload license file"), url=reverse("wagtail_licensing:upload"),
                   icon_name="upload", priority=20),
            *super().header_more_buttons,
        ]

    # Spreadsheet export of the listing (CSV / XLSX), honouring filters, search and ordering.

    @cached_property
    def list_export(self) -> list[str]:
        model_fields = self.model_fields
        fields = [self.model.USERNAME_FIELD]
        email_field = self.model.get_email_field_name()
        if email_field in model_fields and email_field != self.model.USERNAME_FIELD:
            fields.append(email_field)
        fields += [name for name in ("first_name", "last_name", "is_active")
                   if name in model_fields]
        fields += ["user_type", "group_names", "licenses_held", "licenses_without_seat"]
        fields += [name for name in ("last_login", "date_joined") if name in model_fields]
        return fields

    @cached_property
    def export_headings(self) -> dict[str, Any]:
        return {
            "user_type": _("Type"),
            "group_names": _("Groups"),
            "licenses_held": _("Licenses"),
            "licenses_without_seat": _("Licenses without a seat"),
        }

    def to_row_dict(self, item: Any) -> dict[str, Any]:
        tags = license_tags(item, self.products)
        computed = {
            "user_type": user_type_label(item),
            "group_names": ", ".join(GroupsColumn("groups").get_value(item)),
            "licenses_held": ", ".join(tag["code"] for tag in tags),
            "licenses_without_seat": ", ".join(tag["code"] for tag in tags
                                               if not tag["has_seat"]),
        }
        row: dict[str, Any] = {}
        for field in self.list_export:
            value = computed[field] if field in computed else getattr(item, field, None)
            row[field] = escape_formula(value)
        return row

    def as_spreadsheet(self, queryset: QuerySet, spreadsheet_format: str) -> Any:
        return super().as_spreadsheet(ChunkedUsers(queryset), spreadsheet_format)

    def write_xlsx_response(self, queryset: ChunkedUsers) -> StreamingHttpResponse:
        """The workbook streamed as it is written (``formats.streaming``), where Wagtail's
        builds it whole in memory first; the same cells as Wagtail writes (its
        ``preprocess_field_value``), CSV already streams in Wagtail."""
        fields = self.list_export
        headers = [self.get_heading(queryset, field) for field in fields]
        xlsx = self.FORMAT_XLSX
        rows = ([self.preprocess_field_value(field, row[field], xlsx) for field in fields]
                for row in map(self.to_row_dict, queryset))
        chunks = stream_xlsx(headers, rows, title=self.export_filename,
                             expected_rows=queryset.queryset.count())
        response = StreamingHttpResponse(chunks, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{self.get_filename()}.xlsx")
        return response

    def get_context_data(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(*args, **kwargs)
        context["select_all_text"] = _("Select all users in listing")
        return context


class UserMixin(LicensingPermissionMixin):
    """A view about one user (``pk`` in the URL), inside System users.

    The user is looked up lazily, after the permission check, so that nobody else learns
    which users exist.
    """

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.user_model = get_user_model()

    @cached_property
    def object(self) -> Any:
        pk = unquote(str(self.kwargs["pk"]))
        queryset = with_licensing(self.user_model._default_manager.all())
        try:
            return queryset.get(pk=pk)
        except (self.user_model.DoesNotExist, ValueError, ValidationError):
            raise Http404(gettext("No such user.")) from None

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse(url_name("index")), "label": _("System users")},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]


class UserLicensesView(UserMixin, generic.WagtailAdminTemplateMixin, FormView):
    """One user's licenses inside System users: the same form as the Licenses tab."""

    template_name = "wagtail_licensing/system_users/user.html"
    header_icon = "key"
    form_class = UserLicensesForm

    def get_page_title(self) -> str:
        return get_user_display_name(self.object)

    def get_page_subtitle(self) -> str | Promise:
        return _("Licenses")

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.object
        return kwargs

    def form_valid(self, form: Any) -> HttpResponse:
        report(self.request, form.save(user=self.request.user) or [
            ("info", _("No license was changed."))])
        return redirect(user_url(self.object))

    def form_invalid(self, form: Any) -> HttpResponse:
        messages.error(self.request, _("The licenses could not be saved: a product is not "
                                       "available any more. Check the form and try again."))
        return super().form_invalid(form)

    @cached_property
    def header_buttons(self) -> list[HeaderButton]:
        buttons = []
        if edit_url := wagtail_user_edit_url(self.request, self.object):
            buttons.append(HeaderButton(_("Edit user"), url=edit_url, icon_name="edit"))
        if not getattr(self.object, PORTAL_ANNOTATION, False) and not self.object.is_superuser:
            buttons.append(HeaderButton(
                _("Convert to portal user"),
                url=reverse(url_name("convert_to_portal_user"), args=[quote(self.object.pk)]),
                icon_name="user"))
        return buttons

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.object
        context.update({
            "subject": user,
            "is_portal": bool(getattr(user, PORTAL_ANNOTATION, False)),
            "groups": GroupsColumn("groups").get_value(user),
            "username": user.get_username(),
            "email": getattr(user, user.get_email_field_name(), ""),
            "index_url": reverse(url_name("index")),
        })
        return context


class AddPortalUserView(LicensingPermissionMixin, generic.WagtailAdminTemplateMixin,
                        FormView):
    """Create a portal user account and grant it portal products in one transaction."""

    template_name = "wagtail_licensing/system_users/add_portal_user.html"
    form_class = PortalUserForm
    page_title = _("Add portal user")
    header_icon = "user"

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse(url_name("index")), "label": _("System users")},
            {"url": "", "label": self.get_page_title()},
        ]

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            result = form.save(user=self.request.user)
        except LicensingError as error:
            form.add_error(None, error.message)
            return self.form_invalid(form)
        user = result.user
        report(self.request, [
            ("success", _("Portal user %(user)s created.") % {"user": user.get_username()}),
            *wording.messages(result),
        ])
        return redirect(user_url(user))

    def form_invalid(self, form: Any) -> HttpResponse:
        messages.validation_error(self.request, _("The portal user could not be created."),
                                  form)
        return super().form_invalid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["index_url"] = reverse(url_name("index"))
        return context


class ConvertToPortalUserView(UserMixin, generic.WagtailAdminTemplateMixin, FormView):
    """Confirm, then make an existing non-admin user a portal user."""

    template_name = "wagtail_licensing/system_users/convert_to_portal_user.html"
    header_icon = "user"

    form_class = forms.Form

    def get_page_title(self) -> str | Promise:
        return _("Convert to portal user")

    def get_page_subtitle(self) -> str:
        return get_user_display_name(self.object)

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            result = operations.convert_to_portal_user(self.object, user=self.request.user)
        except LicensingError as error:
            messages.error(self.request, error.message)
            return redirect(self.request.path)
        report(self.request, [
            ("success", _("%(user)s is now a portal user.")
             % {"user": self.object.get_username()}),
            *wording.messages(result),
        ])
        return redirect(user_url(self.object))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.object
        products = self.products
        to_recall = [
            products[a.product_code].name if a.product_code in products else a.product_code
            for a in user._licensing_assignments
            if not (a.product_code in products
                    and products[a.product_code].type == ProductType.PORTAL)
        ]
        context.update({"subject": user, "refusal": operations.portal_conversion_refusal(user),
                        "to_recall": to_recall, "cancel_url": user_url(user)})
        return context

    @cached_property
    def products(self) -> dict[str, LicensedProduct]:
        return {product.code: product for product in installed_products()}
