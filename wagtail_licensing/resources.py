"""The django-import-export resource for license assignments: one row per assignment.

Export only: importing goes through ``formats.read_assignments`` and the operations, so that the
seat rules and the audit log hold. Reading and writing files (CSV, XLSX, JSON), their limits and
formula escaping live in ``formats`` and ``rules.escaping``; ``export_assignments`` joins the two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import tablib
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import CharField, F, ForeignObjectRel, OuterRef, QuerySet, Subquery, Value
from django.db.models import Field as ModelField
from django.db.models.functions import Concat, Trim
from django.utils import timezone
from import_export import resources, widgets
from import_export.fields import Field

from .formats import EXPORT_FORMATS
from .formats import read_assignments as read_assignments  # documented here before formats/
from .models import LicenseAssignment, LicensedProduct, is_portal_user_expression

#: What a widget renders one cell with: the cell's value in, the exported value out.
Renderer = Callable[[Any], Any]


class ExportWidget(widgets.Widget):
    """A widget that can hand the export one plain function per cell.

    ``renderer()`` is called once per export, so that whatever does not change from row to row
    (the current time zone, say) is resolved once, not for each of 100,000 rows.
    """

    def renderer(self) -> Renderer:
        return self.render


class TextWidget(ExportWidget, widgets.CharWidget):
    """Text as it is, ``""`` for none (a user without e-mail, a product no file names)."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        return value or ""


class YesNoWidget(ExportWidget, widgets.BooleanWidget):
    """A real boolean: a boolean cell in XLSX, true/false in JSON, True/False in CSV (which
    Excel shows as TRUE/FALSE)."""

    def __init__(self) -> None:
        super().__init__(coerce_to_string=False)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> bool:
        return bool(value)

    def renderer(self) -> Renderer:
        return bool


class UserTypeWidget(ExportWidget):
    """``portal`` or ``employee``, from "is a portal user" (the words the import accepts)."""

    PORTAL = "portal"
    EMPLOYEE = "employee"

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return self.PORTAL if value else self.EMPLOYEE


class LocalISODateTimeWidget(ExportWidget, widgets.DateTimeWidget):
    """ISO 8601 to the second in the current time zone (``2026-11-29T14:03:00+01:00``): what
    spreadsheets and scripts both read, unlike the locale's format."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return self.renderer()(value)

    def renderer(self) -> Renderer:
        # The current time zone is looked up once: timezone.localtime(value) without one reads
        # it from a thread-local for every row (a fifth of a CSV export's time).
        zone = timezone.get_current_timezone()

        def render(value: Any) -> str:
            if not value:
                return ""
            if isinstance(value, datetime) and timezone.is_aware(value):
                value = value.astimezone(zone)
            return value.isoformat(timespec="seconds")

        return render


class RowField(Field):
    """A field of a ``values()`` row: one key lookup instead of import_export's walk through
    ``__``-separated attributes (a third of a large export's time)."""

    def get_value(self, instance: dict[str, Any]) -> Any:
        return instance[self.attribute]


def _user_field(name: str) -> ModelField | ForeignObjectRel | None:
    """The user model's field called ``name``, if it has one."""
    try:
        return get_user_model()._meta.get_field(name)
    except FieldDoesNotExist:
        return None


class LicenseAssignmentResource(resources.ModelResource):
    """One row per license assignment: who holds which product, since when, from whom.

    Rows are read with ``values()`` (no model instances); products' names and types come from
    the installed license file.
    """

    username = RowField(attribute="a_username", column_name="Username", widget=TextWidget())
    email = RowField(attribute="a_email", column_name="E-mail", widget=TextWidget())
    full_name = RowField(attribute="a_full_name", column_name="Full name", widget=TextWidget())
    active = RowField(attribute="a_active", column_name="Active", widget=YesNoWidget())
    user_type = RowField(attribute="a_portal", column_name="User type", widget=UserTypeWidget())
    product_code = RowField(attribute="product_code", column_name="Product code",
                            widget=TextWidget())
    product_name = RowField(attribute="a_product_name", column_name="Product name",
                            widget=TextWidget())
    product_type = RowField(attribute="a_product_type", column_name="Product type",
                            widget=TextWidget())
    granted_at = RowField(attribute="granted_at", column_name="Granted at",
                          widget=LocalISODateTimeWidget())
    granted_by = RowField(attribute="a_granted_by", column_name="Granted by",
                          widget=TextWidget())
    has_seat = RowField(attribute="has_seat", column_name="Has seat", widget=YesNoWidget())

    class Meta:
        model = LicenseAssignment
        fields = ("username", "email", "full_name", "active", "user_type", "product_code",
                  "product_name", "product_type", "granted_at", "granted_by", "has_seat")
        export_order = fields
        chunk_size = 2000

    def __init__(self, users: QuerySet | None = None,
                 product_codes: Iterable[str] | None = None, **kwargs: Any) -> None:
        """``users``: a user queryset (e.g. the System users listing's filtered one) whose
        assignments are exported; ``product_codes``: only these products."""
        super().__init__(**kwargs)
        self.users = users
        self.product_codes = list(product_codes) if product_codes else None

    def export(self, queryset: QuerySet | None = None, **kwargs: Any) -> tablib.Dataset:
        """The assignments as a ``tablib.Dataset``, one row per assignment.

        import_export's ``export`` looks every field, its name and dehydrate method up again
        for every cell, then goes through ``Field.export`` to the widget. None of it changes
        during an export, so each column's renderer is resolved once, rows are read as tuples
        (``values_list``: no dict per row) and each cell costs one call, as the dehydrate
        methods did. Anything this does not cover (a queryset or ``export_fields`` given, a
        field that is not a ``RowField`` of an ``ExportWidget``, a ``dehydrate_`` method) takes
        import_export's own path.
        """
        fields = self.get_export_fields()
        if (queryset is not None or kwargs
                or not all(self._renders_directly(field) for field in fields)):
            return super().export(queryset, **kwargs)
        self.before_export(queryset, **kwargs)
        queryset = self.filter_export(self.get_queryset(), **kwargs)
        renderers = [field.widget.renderer() for field in fields]
        rows = queryset.values_list(*(field.attribute for field in fields)).iterator(
            chunk_size=self.get_chunk_size())
        dataset = tablib.Dataset(headers=self.get_export_headers())
        append = dataset.append
        for row in rows:
            append([render(value) for render, value in zip(renderers, row, strict=True)])
        self.after_export(queryset, dataset, **kwargs)
        return dataset

    def _renders_directly(self, field: Field) -> bool:
        """Whether the cell is the widget's rendering of the row's value, and nothing else."""
        dehydrate = field.get_dehydrate_method(self.get_field_name(field))
        return (isinstance(field, RowField) and isinstance(field.widget, ExportWidget)
                and not callable(dehydrate) and not hasattr(self, dehydrate))

    def get_queryset(self) -> QuerySet:
        User = get_user_model()
        username = User.USERNAME_FIELD
        email = User.get_email_field_name()
        products = LicensedProduct.objects.installed().filter(code=OuterRef("product_code"))
        qs = LicenseAssignment.objects.all()
        if self.users is not None:
            qs = qs.filter(user__in=self.users.order_by().values("pk"))
        if self.product_codes:
            qs = qs.filter(product_code__in=self.product_codes)
        full_name: Trim | Value
        if _user_field("first_name") and _user_field("last_name"):
            full_name = Trim(Concat(F("user__first_name"), Value(" "), F("user__last_name"),
                                    output_field=CharField()))
        else:
            full_name = Value("", output_field=CharField())
        email_expr = F(f"user__{email}") if _user_field(email) else Value("")
        return qs.annotate(
            a_username=F(f"user__{username}"),
            a_email=email_expr,
            a_full_name=full_name,
            a_active=F("user__is_active"),
            a_portal=is_portal_user_expression("user_id"),
            a_product_name=Subquery(products.values("name")[:1]),
            a_product_type=Subquery(products.values("type")[:1]),
            a_granted_by=F(f"granted_by__{username}"),
        ).order_by(f"user__{username}", "product_code").values(
            *(field.attribute for field in self.get_export_fields() if field.attribute))


def export_assignments(format: str = "csv", *, users: QuerySet | None = None,
                       product_codes: Iterable[str] | None = None) -> tuple[bytes, str, str]:
    """``(content, content_type, extension)`` of the assignments in the given format."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {format!r}: use csv, xlsx or json.")
    fmt = EXPORT_FORMATS[format]()
    dataset = LicenseAssignmentResource(users=users, product_codes=product_codes).export()
    content = fmt.export_data(dataset)
    if isinstance(content, str):
        content = content.encode("utf-8")
    return content, fmt.get_content_type(), format  # type: ignore[attr-defined]
