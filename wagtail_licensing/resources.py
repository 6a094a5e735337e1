"""The django-import-export resource for license assignments: one row per assignment.

Export only: importing goes through ``formats.read_assignments`` and the operations, so that the
seat rules and the audit log hold. Reading and writing files (CSV, XLSX, JSON), their limits and
formula escaping live in ``formats`` and ``rules.escaping``; ``export_assignments`` joins the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models import Field as ModelField
from django.db.models.functions import Concat, Trim
from django.utils import timezone
from import_export import resources, widgets
from import_export.fields import Field

from .formats import EXPORT_FORMATS
from .formats import read_assignments as read_assignments  # documented here before formats/
from .models import LicenseAssignment, LicensedProduct, is_portal_user_expression


class TextWidget(widgets.CharWidget):
    """Text as it is, ``""`` for none (a user without e-mail, a product no file names)."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        return value or ""


class YesNoWidget(widgets.BooleanWidget):
    """A real boolean: a boolean cell in XLSX, true/false in JSON, True/False in CSV (which
    Excel shows as TRUE/FALSE)."""

    def __init__(self) -> None:
        super().__init__(coerce_to_string=False)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> bool:
        return bool(value)


class UserTypeWidget(widgets.Widget):
    """``portal`` or ``employee``, from "is a portal user" (the words the import accepts)."""

    PORTAL = "portal"
    EMPLOYEE = "employee"

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return self.PORTAL if value else self.EMPLOYEE


class LocalISODateTimeWidget(widgets.DateTimeWidget):
    """ISO 8601 to the second in the current time zone (``2026-11-29T14:03:00+01:00``): what
    spreadsheets and scripts both read, unlike the locale's format."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if not value:
            return ""
        if isinstance(value, datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.isoformat(timespec="seconds")


class RowField(Field):
    """A field of a ``values()`` row: one key lookup instead of import_export's walk through
    ``__``-separated attributes (a third of a large export's time)."""

    def get_value(self, instance: dict[str, Any]) -> Any:
        return instance[self.attribute]


def _user_field(name: str) -> ModelField | None:
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

    def __init__(self, users: QuerySet | None = None, product_codes: Any = None,
                 **kwargs: Any) -> None:
        """``users``: a user queryset (e.g. the System users listing's filtered one) whose
        assignments are exported; ``product_codes``: only these products."""
        super().__init__(**kwargs)
        self.users = users
        self.product_codes = list(product_codes) if product_codes else None

    def export_resource(self, instance: Any, selected_fields: Any = None,
                        **kwargs: Any) -> list[Any]:
        # import_export looks the fields, their names and dehydrate methods up again for every
        # row and field, then goes through Field.export to the widget; none of it changes, so
        # look it up once and call each widget's render on the row's value (the export's time
        # per cell is then one call, as with dehydrate methods).
        if selected_fields or kwargs:
            return super().export_resource(instance, selected_fields, **kwargs)
        try:
            exporters = self._exporters
        except AttributeError:
            exporters = self._exporters = [self._exporter(field)
                                           for field in self.get_export_fields()]
        return [render(instance) if key is None else render(instance[key])
                for key, render in exporters]

    def _exporter(self, field: Field) -> tuple[str | None, Any]:
        """``(key, render)``: ``render(row[key])``, or ``render(row)`` when key is None."""
        method = getattr(self, field.get_dehydrate_method(self.get_field_name(field)), None)
        if method is not None:
            return None, method
        if isinstance(field, RowField):
            return field.attribute, field.widget.render
        return None, field.export

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
                       product_codes: Any = None) -> tuple[bytes, str, str]:
    """``(content, content_type, extension)`` of the assignments in the given format."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {format!r}: use csv, xlsx or json.")
    fmt = EXPORT_FORMATS[format]()
    dataset = LicenseAssignmentResource(users=users, product_codes=product_codes).export()
    content = fmt.export_data(dataset)
    if isinstance(content, str):
        content = content.encode("utf-8")
    return content, fmt.get_content_type(), format
