"""The django-import-export resource for license assignments: one row per assignment.

Export only: importing goes through ``formats.read_assignments`` and the operations, so that the
seat rules and the audit log hold. Reading and writing files (CSV, XLSX, JSON), their limits and
formula escaping live in ``formats`` and ``rules.escaping``; ``export_assignments`` joins the two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any, NamedTuple

import tablib
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router
from django.db.models import (
    CharField,
    F,
    ForeignObjectRel,
    Func,
    IntegerField,
    QuerySet,
    Value,
)
from django.db.models import Field as ModelField
from django.db.models.functions import Concat, Trim
from django.db.models.sql.constants import MULTI
from django.utils import timezone
from import_export import resources, widgets
from import_export.fields import Field

from .formats import EXPORT_FORMATS
from .formats import read_assignments as read_assignments  # documented here before formats/
from .formats.streaming import Chunked, Columns
from .models import LicenseAssignment, LicensedProduct, held_source

#: What a widget renders one cell with: the cell's value in, the exported value out.
Renderer = Callable[[Any], Any]
#: What a widget renders a column of a chunk of rows with: the values in, the cells out.
ColumnRenderer = Callable[[Sequence[Any]], Sequence[Any]]


def _overrides(widget: Any, base: type, *names: str) -> bool:
    """Whether ``widget``'s class redefines any of ``names`` below ``base`` (a project's
    subclass whose ``render`` must be called, not the shortcut ``base`` takes)."""
    return any(getattr(type(widget), name) is not getattr(base, name) for name in names)


class ExportWidget(widgets.Widget):
    """A widget that can hand the export one plain function per cell.

    ``renderer(shared)`` is called once per export, so that whatever does not change from row
    to row (the current time zone, the installed products) is resolved once, not for each of
    100,000 rows; ``shared`` is one dict for all the columns of an export, for what several of
    them need.
    """

    def renderer(self, shared: dict[str, Any] | None = None) -> Renderer:
        return self.render

    def column_renderer(self, shared: dict[str, Any] | None = None) -> ColumnRenderer:
        """``renderer`` for a whole column of a chunk of rows at once: the export renders
        column by column, so that a widget can render a column with one C call (``map`` of a
        builtin, a dict's ``get``) rather than one Python call per cell."""
        render = self.renderer(shared)
        return lambda column: list(map(render, column))


class TextWidget(ExportWidget, widgets.CharWidget):
    """Text as it is, ``""`` for none (a user without e-mail, a product no file names)."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        return value or ""

    def column_renderer(self, shared: dict[str, Any] | None = None) -> ColumnRenderer:
        if _overrides(self, TextWidget, "render", "renderer"):
            return super().column_renderer(shared)
        # A column of text only is as it is (``value or ""`` of each would give it back).
        return lambda column: (column if set(map(type, column)) == {str}
                               else [v or "" for v in column])


class YesNoWidget(ExportWidget, widgets.BooleanWidget):
    """A real boolean: a boolean cell in XLSX, true/false in JSON, True/False in CSV (which
    Excel shows as TRUE/FALSE)."""

    def __init__(self) -> None:
        super().__init__(coerce_to_string=False)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> bool:
        return bool(value)

    def renderer(self, shared: dict[str, Any] | None = None) -> Renderer:
        return bool

    def column_renderer(self, shared: dict[str, Any] | None = None) -> ColumnRenderer:
        if _overrides(self, YesNoWidget, "render", "renderer"):
            return super().column_renderer(shared)
        return lambda column: list(map(bool, column))


class UserTypeWidget(ExportWidget):
    """``portal`` or ``employee``, from "is a portal user" (the words the import accepts):
    any true value, such as the user's ``PortalUser`` id, means a portal user."""

    PORTAL = "portal"
    EMPLOYEE = "employee"

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return self.PORTAL if value else self.EMPLOYEE

    def column_renderer(self, shared: dict[str, Any] | None = None) -> ColumnRenderer:
        if _overrides(self, UserTypeWidget, "render", "renderer"):
            return super().column_renderer(shared)
        portal, employee = self.PORTAL, self.EMPLOYEE
        return lambda column: [portal if v else employee for v in column]


class InstalledProductWidget(ExportWidget):
    """A product code's ``name`` or ``type`` in the installed license file, ``""`` for a code
    it does not have. The few products are read once per export, rather than joined to every
    row (two correlated subqueries per row made PostgreSQL plan, JIT-compile and run a query
    several times slower than reading the rows)."""

    def __init__(self, attribute: str) -> None:
        super().__init__()
        self.attribute = attribute

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return self.renderer()(value)

    def values(self, shared: dict[str, Any] | None = None) -> dict[str, str]:
        """The attribute of each installed product, by code."""
        shared = {} if shared is None else shared
        if "installed_products" not in shared:  # one query for the name and the type columns
            shared["installed_products"] = {
                code: {"name": name, "type": type}
                for code, name, type in LicensedProduct.objects.installed().values_list(
                    "code", "name", "type")}
        return {code: product[self.attribute] or ""
                for code, product in shared["installed_products"].items()}

    def renderer(self, shared: dict[str, Any] | None = None) -> Renderer:
        values = self.values(shared)
        return lambda code: values.get(code, "")

    def column_renderer(self, shared: dict[str, Any] | None = None) -> ColumnRenderer:
        if _overrides(self, InstalledProductWidget, "render", "renderer"):
            return super().column_renderer(shared)
        get = self.values(shared).get
        return lambda column: list(map(get, column, repeat("")))


class LocalISODateTimeWidget(ExportWidget, widgets.DateTimeWidget):
    """ISO 8601 to the second in the current time zone (``2026-11-29T14:03:00+01:00``): what
    spreadsheets and scripts both read, unlike the locale's format."""

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return self.renderer()(value)

    def renderer(self, shared: dict[str, Any] | None = None) -> Renderer:
        # The current time zone is looked up once: timezone.localtime(value) without one reads
        # it from a thread-local for every row (a fifth of a CSV export's time).
        zone = timezone.get_current_timezone()

        def render(value: Any) -> str:
            if value is None or value == "":
                return ""
            if isinstance(value, int):  # whole seconds since the epoch (EpochSeconds)
                return datetime.fromtimestamp(value, zone).isoformat()
            # tzinfo, not timezone.is_aware(): that calls utcoffset() for every row.
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(zone)
            return value.isoformat(timespec="seconds")

        return render

    def column_renderer(self, shared: dict[str, Any] | None = None) -> ColumnRenderer:
        if _overrides(self, LocalISODateTimeWidget, "render", "renderer"):
            return super().column_renderer(shared)
        render = self.renderer(shared)
        zone = timezone.get_current_timezone()
        fromtimestamp, isoformat = datetime.fromtimestamp, datetime.isoformat

        def render_column(column: Sequence[Any]) -> list[str]:
            distinct = set(column)
            if len(distinct) * 2 > len(column) and set(map(type, distinct)) == {int}:
                # Whole seconds since the epoch, most of them distinct (as on a site whose
                # assignments were granted one by one): ``render``'s two C calls mapped over
                # the column, without a Python call per cell.
                return list(map(isoformat, map(fromtimestamp, column, repeat(zone))))
            # What was granted together (an import, a bulk grant, one user's products) shares
            # its second: each distinct value of the chunk is formatted once.
            texts = {value: render(value) for value in distinct}
            return list(map(texts.__getitem__, column))

        return render_column


class EpochSeconds(Func):
    """A stored date and time (UTC, ``USE_TZ``) as whole seconds since the epoch.

    An export reads the date and time of every row; as an integer it costs the database
    nothing and Python one C call to turn into local time, where psycopg's time zone aware
    parsing of a ``timestamptz`` took half of reading the rows on PostgreSQL. Truncated, as
    the export's ISO format to the second is. Written for PostgreSQL and SQLite only: the
    export reads ``granted_at`` itself on other databases (``_epoch_supported``).
    """

    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection,
                           template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection,
                           template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)",
                           **extra)


class AsInteger(Func):
    """A boolean column read as 0 or 1. On SQLite and PostgreSQL a cast, so that the driver
    returns an integer rather than a boolean (SQLite's driver calls a converter for every
    value of a column declared ``bool``) and Django's ``int()`` of it is skipped
    (``column_chunks``); elsewhere the column itself (an ``int()`` of each value)."""

    output_field = IntegerField()
    template = "%(expressions)s"

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS integer)",
                           **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS INTEGER)",
                           **extra)


def _epoch_supported() -> bool:
    vendor = connections[router.db_for_read(LicenseAssignment)].vendor
    return settings.USE_TZ and vendor in ("postgresql", "sqlite")


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
    product_name = RowField(attribute="product_code", column_name="Product name",
                            widget=InstalledProductWidget("name"))
    product_type = RowField(attribute="product_code", column_name="Product type",
                            widget=InstalledProductWidget("type"))
    granted_at = RowField(attribute="a_granted_at", column_name="Granted at",
                          widget=LocalISODateTimeWidget())
    granted_by = RowField(attribute="a_granted_by", column_name="Granted by",
                          widget=TextWidget())
    has_seat = RowField(attribute="a_has_seat", column_name="Has seat", widget=YesNoWidget())
    # Where the assignment comes from: "direct", "group" (only through groups) or
    # "direct+group". Informative: an import reads the user, product and action only, so an
    # exported file imports as unchanged whatever the source says.
    source = RowField(attribute="a_source", column_name="Source", widget=TextWidget())

    class Meta:
        model = LicenseAssignment
        fields = ("username", "email", "full_name", "active", "user_type", "product_code",
                  "product_name", "product_type", "granted_at", "granted_by", "has_seat",
                  "source")
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
        """The assignments as a ``tablib.Dataset``, one row per assignment (``rows()``).

        Anything ``rows()`` does not cover (a queryset or ``export_fields`` given, a field that
        is not a ``RowField`` of an ``ExportWidget``, a ``dehydrate_`` method) takes
        import_export's own path. For large exports, ``stream()`` writes the file without
        holding the rows.
        """
        if queryset is not None or kwargs or not self.renders_directly():
            return super().export(queryset, **kwargs)
        self.before_export(queryset, **kwargs)
        dataset = tablib.Dataset(headers=self.get_export_headers())
        append = dataset.append
        for row in self.rows():
            append(row)
        self.after_export(self.get_queryset(), dataset, **kwargs)
        return dataset

    def renders_directly(self) -> bool:
        """Whether every cell is its widget's rendering of the row's value (``rows()``)."""
        return all(self._renders_directly(field) for field in self.get_export_fields())

    def rows(self, progress: Callable[[int], None] | None = None) -> Iterator[Sequence[Any]]:
        """The rendered rows, read from the database in chunks as they are consumed
        (``row_chunks``, one row at a time)."""
        for chunk in self.row_chunks(progress):
            yield from chunk

    def row_chunks(self, progress: Callable[[int], None] | None = None
                   ) -> Iterator[Columns]:
        """The rendered rows, a chunk of ``chunk_size`` at a time, read as they are consumed.

        import_export's ``export`` looks every field, its name and dehydrate method up again
        for every cell, then goes through ``Field.export`` to the widget. None of it changes
        during an export, so each column's renderer is resolved once; rows are read as the
        database driver returns them (``column_chunks``: no model instance, dict or Django
        converter call per row, a bounded number in memory) and rendered a column at a time
        (``ExportWidget.column_renderer``). ``progress(rows_so_far)`` is called after each
        chunk read.
        """
        fields = self.get_export_fields()
        shared: dict[str, Any] = {}
        renderers = [field.widget.column_renderer(shared) for field in fields]
        queryset = self.filter_export(self.get_queryset())
        done = 0
        for read in column_chunks(queryset, [field.attribute for field in fields],
                                  self.get_chunk_size()):
            chunk = Columns([render(column) for render, column in zip(
                renderers, read.columns, strict=True)], len(read))
            done += len(chunk)
            yield chunk
            if progress is not None:
                progress(done)
        if progress is not None and not done:
            progress(done)

    def assignments(self) -> QuerySet[LicenseAssignment]:
        """The assignments exported: of ``users`` and ``product_codes`` when given."""
        qs = LicenseAssignment.objects.all()
        if self.users is not None:
            qs = qs.filter(user__in=self.users.order_by().values("pk"))
        if self.product_codes:
            qs = qs.filter(product_code__in=self.product_codes)
        return qs

    def count(self) -> int:
        """How many rows an export has (one ``COUNT`` of the assignments, nothing joined)."""
        return self.assignments().count()

    def stream(self, format: str, *, expected_rows: int | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """The file in ``format`` (``EXPORT_FORMATS``), as its bytes are written: constant
        memory whatever the number of assignments."""
        if not self.renders_directly():
            dataset = self.export()
            return iter([_as_bytes(export_format(format).export_data(dataset))])
        return export_format(format).stream(
            self.get_export_headers(), Chunked(self.row_chunks(progress)), title="Assignments",
            expected_rows=expected_rows)

    def _renders_directly(self, field: Field) -> bool:
        """Whether the cell is the widget's rendering of the row's value, and nothing else."""
        dehydrate = field.get_dehydrate_method(self.get_field_name(field))
        return (isinstance(field, RowField) and isinstance(field.widget, ExportWidget)
                and not callable(dehydrate) and not hasattr(self, dehydrate))

    def get_queryset(self) -> QuerySet:
        User = get_user_model()
        username = User.USERNAME_FIELD
        email = User.get_email_field_name()
        qs = self.assignments()
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
            # Read as integers: the widget makes them booleans, and a BooleanField would make
            # Django run a converter for every row (a quarter of reading the rows on SQLite).
            a_active=AsInteger(F("user__is_active")),
            a_has_seat=AsInteger(F("has_seat")),
            # A LEFT JOIN, not an EXISTS per row: the portal marker's id, or None.
            a_portal=F("user__licensing_portal_user__id"),
            a_granted_by=F(f"granted_by__{username}"),
            a_granted_at=EpochSeconds("granted_at") if _epoch_supported() else F("granted_at"),
            a_source=held_source(),
        ).order_by(f"user__{username}", "product_code").values(
            *(field.attribute for field in self.get_export_fields() if field.attribute))


def column_chunks(queryset: QuerySet, names: Sequence[str], chunk_size: int
                  ) -> Iterator[Columns]:
    """``queryset.values_list(*names).iterator(chunk_size)``, a chunk at a time and by column
    (``Columns``: one sequence of values per name, in ``names`` order).

    The rows are the database driver's, read with a chunked (on PostgreSQL, server-side)
    cursor, as ``iterator()`` reads them; Django's converters, which ``values_list`` calls
    row by row (a third of reading the rows), are applied to the columns that have them.
    """
    # Each column read once: several fields may read the same value (the product code, for
    # its code, name and type), the driver need not give it three times.
    unique = list(dict.fromkeys(names))
    query = queryset.values_list(*unique).query
    compiler = query.get_compiler(using=queryset.db)
    results = compiler.execute_sql(MULTI, chunked_fetch=True, chunk_size=chunk_size)
    # As results_iter reads them; Django 5.2 selects the columns of values_list in its order.
    converters = compiler.get_converters([s[0] for s in compiler.select[:compiler.col_count]])
    connection = compiler.connection
    # An expression's converter for an integer output_field only calls int().
    int_converter = {
        index: expression.convert_value for index, (_functions, expression) in converters.items()
        if expression.output_field.get_internal_type().endswith("IntegerField")}
    try:
        for rows in results:
            if not rows:
                continue
            columns: list[Any] = list(zip(*rows, strict=False))[:len(unique)]
            for index, (functions, expression) in converters.items():
                column = columns[index]
                if functions == [int_converter.get(index)]:
                    kinds = set(map(type, column))
                    if kinds <= _INTS:
                        continue  # int() of what the driver gave as int already
                    if kinds <= _BOOLS:  # SQLite's booleans (a column declared bool)
                        columns[index] = list(map(int, column))
                        continue
                for convert in functions:
                    column = [convert(value, expression, connection) for value in column]
                columns[index] = column
            if len(unique) != len(names):
                columns = [columns[unique.index(name)] for name in names]
            yield Columns(columns, len(rows))
    finally:
        close = getattr(results, "close", None)
        if close is not None:  # the cursor, when the export stops early
            close()


_INTS = {int, type(None)}
_BOOLS = {bool, int}


def export_format(format: str) -> Any:
    """The format object for ``format`` (``csv``, ``xlsx``, ``json``); ValueError otherwise."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {format!r}: use csv, xlsx or json.")
    return EXPORT_FORMATS[format]()


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


class Export(NamedTuple):
    """A streamed export: ``chunks`` yields the file's bytes as the rows are read."""

    chunks: Iterator[bytes]
    content_type: str
    extension: str
    rows: int


def stream_assignments(format: str = "csv", *, users: QuerySet | None = None,
                       product_codes: Iterable[str] | None = None,
                       progress: Callable[[int, int], None] | None = None) -> Export:
    """The assignments in ``format``, streamed: what the export views and
    ``manage.py licensing export`` send, a chunk at a time. Counts the rows first (one
    query) so that a caller can show progress (``progress(rows_so_far, rows)``, called as
    the rows are read) and a large XLSX gets ZIP64 sizes."""
    fmt = export_format(format)
    resource = LicenseAssignmentResource(users=users, product_codes=product_codes)
    rows = resource.count()
    report = None if progress is None else (lambda done: progress(done, rows))
    return Export(resource.stream(format, expected_rows=rows, progress=report),
                  fmt.get_content_type(), format, rows)


def export_assignments(format: str = "csv", *, users: QuerySet | None = None,
                       product_codes: Iterable[str] | None = None) -> tuple[bytes, str, str]:
    """``(content, content_type, extension)`` of the assignments in the given format, the
    whole file at once (``stream_assignments`` sends it as it is written)."""
    export = stream_assignments(format, users=users, product_codes=product_codes)
    return b"".join(export.chunks), export.content_type, export.extension
