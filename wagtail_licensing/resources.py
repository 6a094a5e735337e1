"""django-import-export resources and formats for license assignments.

Export: ``LicenseAssignmentResource`` (a ``ModelResource``) gives one row per assignment, and
``EXPORT_FORMATS`` (CSV, XLSX, JSON) write it. They are import_export's format classes with
formula escaping always on, whatever ``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` says: a cell
that a spreadsheet would run as a formula is written with a leading apostrophe.

Import: ``read_assignments(content, filename=)`` reads a file with the same format classes into
``ImportRow``s (row number, user, product, action). Planning and applying them is the job of
``operations.preview_import`` and ``operations.import_assignments``; nothing here writes.
"""

import csv
import io
import json
import re
import zipfile
from pathlib import Path
from typing import NamedTuple

import tablib
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import CharField, F, OuterRef, Subquery, Value
from django.db.models.functions import Concat, Trim
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from import_export import resources
from import_export.fields import Field
from import_export.formats import base_formats

from .conf import licensing_settings
from .exceptions import InvalidImportFile
from .models import LicenseAssignment, LicensedProduct, is_portal_user_expression

# Formula injection ---------------------------------------------------------------------------

# A cell starting with one of these is run as a formula by Excel, LibreOffice or Google Sheets
# (OWASP "CSV injection"). A leading apostrophe makes it text. Values that already start with
# apostrophes before such a character get one more, so that un-escaping on import is exact.
_FORMULA_RE = re.compile(r"'*[=+\-@\t\r]")


def escape_formula(value):
    """Text that a spreadsheet would evaluate, made inert with a leading apostrophe."""
    if isinstance(value, str) and _FORMULA_RE.match(value):
        return "'" + value
    return value


def unescape_formula(value):
    """Undo ``escape_formula``, so that an exported file imports back exactly."""
    if value.startswith("'") and _FORMULA_RE.match(value):
        return value[1:]
    return value


def _escaped(dataset):
    """A copy of the dataset with every text cell escaped (headers included)."""
    copy = tablib.Dataset(headers=[escape_formula(h) for h in dataset.headers or []])
    copy.title = dataset.title
    for row in dataset:
        copy.append([escape_formula(cell) for cell in row])
    return copy


# Formats -------------------------------------------------------------------------------------


class ImportRow(NamedTuple):
    """One row of an assignments file, as the manager sees it in their spreadsheet."""

    number: int  # spreadsheet row (the header is row 1); in JSON the record's position from 1
    user: str
    product: str
    action: str


class _AssignmentFormatMixin:
    """Export with escaping always on; import row by row, keeping row numbers.

    ``read`` streams ``(number, cells)`` so that a large file is never held as a table of every
    column: ``read_assignments`` keeps only the three columns it needs. ``create_dataset``
    (the import_export API, for code that wants a ``tablib.Dataset``) is built on it. tablib's
    own readers drop blank lines (shifting row numbers) and misalign JSON records whose keys
    come in another order.
    """

    escape_formulae = True

    def export_data(self, dataset, **kwargs):
        if self.escape_formulae:
            dataset = _escaped(dataset)
        return self._export(dataset, **kwargs)

    def _export(self, dataset, **kwargs):
        # Not super().export_data(): that applies import_export's own, weaker escaping (it
        # deletes a leading "=" and nothing else) when the site's setting asks for it.
        return dataset.export(self.get_title(), **kwargs)

    def read(self, content):
        """``(headers, rows)``; rows yields ``(number, cells)``. Raises InvalidImportFile."""
        raise NotImplementedError

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8")
        headers, rows = self.read(in_stream)
        dataset = tablib.Dataset(headers=headers)
        for _number, cells in rows:
            dataset.append(_fit(cells, len(headers)))
        return dataset


def _fit(cells, width):
    cells = list(cells[:width])
    return cells + [""] * (width - len(cells))


def _decode(content):
    """UTF-8 with or without the BOM Excel writes; UTF-16 when it starts with its BOM."""
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidImportFile(
            _("The file is not UTF-8 text (byte %(pos)d cannot be read). In Excel, save it as "
              "\"CSV UTF-8 (Comma delimited)\"; in LibreOffice, choose the character set "
              "\"Unicode (UTF-8)\"; or upload the .xlsx file itself.") % {"pos": exc.start + 1}
        ) from exc


class AssignmentCSV(_AssignmentFormatMixin, base_formats.CSV):
    """CSV, comma, semicolon or tab separated (as Excel writes it in every locale)."""

    def _export(self, dataset, **kwargs):
        # The BOM makes Excel read the file as UTF-8 rather than the local code page.
        return "\ufeff" + super()._export(dataset, **kwargs)

    def read(self, content):
        text = _decode(content)
        first_line = text.split("\n", 1)[0]
        delimiter = max((",", ";", "\t"), key=first_line.count)
        if not first_line.count(delimiter):
            delimiter = ","
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
            headers = next(reader, None)
        except csv.Error as exc:
            raise InvalidImportFile(_("The CSV file cannot be read: %(error)s.")
                                    % {"error": exc}) from exc
        if headers is None:
            raise InvalidImportFile(_("The file is empty."))

        def rows():
            number = 1
            try:
                for cells in reader:
                    number += 1
                    yield number, cells
            except csv.Error as exc:
                raise InvalidImportFile(
                    _("Row %(row)d of the CSV file cannot be read: %(error)s.")
                    % {"row": number + 1, "error": exc}) from exc

        return headers, rows()


class AssignmentXLSX(_AssignmentFormatMixin, base_formats.XLSX):
    """The first (active) sheet of an .xlsx workbook, as Excel or LibreOffice saves it."""

    def _export(self, dataset, **kwargs):
        # openpyxl's write-only mode streams rows to the file: tablib's writer keeps every cell
        # as an object, hundreds of megabytes for a large export.
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        def clean(cell):
            # Control characters cannot be stored in XLSX: replace them rather than fail.
            if isinstance(cell, str):
                return ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", cell)
            return cell

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=dataset.title or "Assignments")
        headers = [clean(h) for h in dataset.headers or []]
        sample = [headers, *dataset[:1000]]
        for index in range(len(headers)):
            width = max(len(str(row[index] if row[index] is not None else "")) for row in sample)
            sheet.column_dimensions[get_column_letter(index + 1)].width = min(width + 2, 50)
        if headers:
            sheet.freeze_panes = "A2"
            bold = Font(bold=True)
            header_cells = []
            for header in headers:
                cell = WriteOnlyCell(sheet, value=header)
                cell.font = bold
                header_cells.append(cell)
            sheet.append(header_cells)
        for row in dataset:
            sheet.append([clean(cell) for cell in row])
        stream = io.BytesIO()
        workbook.save(stream)
        return stream.getvalue()

    def read(self, content):
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            sheet = workbook.active
            values = sheet.iter_rows(values_only=True)
            headers = next(values, None)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise InvalidImportFile(
                _("The file cannot be read as an Excel workbook (.xlsx). Save it again from "
                  "Excel or LibreOffice as .xlsx, or as CSV UTF-8.")) from exc
        if headers is None:
            workbook.close()
            raise InvalidImportFile(_("The file is empty."))

        def rows():
            number = 1
            try:
                for number, cells in enumerate(values, start=2):  # noqa: B007
                    yield number, [_cell_text(cell) for cell in cells]
            except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
                raise InvalidImportFile(
                    _("The workbook is damaged after row %(row)d. Save it again from Excel or "
                      "LibreOffice.") % {"row": number}) from exc
            finally:
                workbook.close()

        return [_cell_text(cell) for cell in headers], rows()


def _cell_text(value):
    """Spreadsheet cell values as the text the user sees (123, not 123.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class AssignmentJSON(_AssignmentFormatMixin, base_formats.JSON):
    """A JSON list of objects (as exported), or a list of lists whose first is the header."""

    # Spreadsheets do not open JSON as formulas: values are written, and read, exactly.
    escape_formulae = False

    def read(self, content):
        try:
            data = json.loads(_decode(content))
        except ValueError as exc:
            raise InvalidImportFile(_("The file is not valid JSON: %(error)s.")
                                    % {"error": exc}) from exc
        if not isinstance(data, list):
            raise InvalidImportFile(_("The JSON file must hold a list of records, like "
                                      "[{\"username\": \"ann\", \"product\": \"editor\"}]."))
        if not data:
            raise InvalidImportFile(_("The file is empty."))
        if all(isinstance(item, list) for item in data):
            headers = [_cell_text(v) for v in data[0]]
            rows = ((number, [_cell_text(v) for v in item])
                    for number, item in enumerate(data[1:], start=1))
            return headers, rows
        if not all(isinstance(item, dict) for item in data):
            raise InvalidImportFile(_("Every record of the JSON list must be an object, like "
                                      "{\"username\": \"ann\", \"product\": \"editor\"}."))
        # Keys in the order first seen: records need not list them in the same order.
        headers = list(dict.fromkeys(key for item in data for key in item))
        rows = ((number, [_cell_text(item.get(key)) for key in headers])
                for number, item in enumerate(data, start=1))
        return headers, rows


#: Formats by the name used in URLs, commands and file extensions.
FORMATS = {"csv": AssignmentCSV, "xlsx": AssignmentXLSX, "json": AssignmentJSON}
EXPORT_FORMATS = FORMATS

_UNSUPPORTED = {"xls", "ods", "numbers", "tsv", "yaml", "yml", "html"}


def detect_format(content, filename=""):
    """The format name from the file's extension, else from its first bytes."""
    extension = Path(filename or "").suffix.lower().lstrip(".")
    if extension in FORMATS:
        return extension
    if extension in _UNSUPPORTED:
        raise InvalidImportFile(
            _("%(ext)s files cannot be imported. Save the sheet as .xlsx or as CSV UTF-8, "
              "or upload JSON.") % {"ext": "." + extension})
    if content[:4] == b"PK\x03\x04":
        return "xlsx"
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
        return "json"
    return "csv"


# Reading an import file ----------------------------------------------------------------------


def _normalise_header(value):
    return re.sub(r"[\s_\-.]+", "", str(value or "")).lower()


# Normalised header -> priority (lower wins) for each column we read.
USER_COLUMNS = {"username": 0, "user": 1, "login": 2, "email": 3, "emailaddress": 3, "mail": 4}
PRODUCT_COLUMNS = {"productcode": 0, "product": 1, "code": 2}
ACTION_COLUMNS = {"action": 0}
EMAIL_COLUMNS = {"email", "emailaddress", "mail"}


def _pick(headers, aliases):
    found = sorted((aliases[_normalise_header(h)], i) for i, h in enumerate(headers)
                   if _normalise_header(h) in aliases)
    return [i for _priority, i in found]


class AssignmentFile(NamedTuple):
    """A parsed import file: only the columns the import reads."""

    filename: str
    format: str
    rows: list  # [ImportRow], blank rows left out
    user_column: str
    product_column: str
    action_column: str | None
    ignored_columns: list

    def __len__(self):
        return len(self.rows)


def check_file_size(size):
    """Refuse a file over ``IMPORT_MAX_FILE_SIZE`` before reading it."""
    limit = licensing_settings.IMPORT_MAX_FILE_SIZE
    if limit and size > limit:
        raise InvalidImportFile(
            _("The file is %(size)s; the largest file accepted is %(limit)s "
              "(the IMPORT_MAX_FILE_SIZE setting). Split it into smaller files.")
            % {"size": _size(size), "limit": _size(limit)})


def _size(n):
    if n >= 1024 * 1024:
        return _("%(n)s MB") % {"n": number_format(n / (1024 * 1024), 1)}
    if n >= 1024:
        return _("%(n)s KB") % {"n": number_format(n / 1024, 1)}
    return _("%(n)d bytes") % {"n": n}


def read_assignments(content, *, filename="", format=None):
    """Read an assignments file (CSV, XLSX or JSON) into an ``AssignmentFile``.

    Refuses clearly, with ``InvalidImportFile``: files over ``IMPORT_MAX_FILE_SIZE``, with more
    data rows than ``IMPORT_MAX_ROWS`` (reading stops there, so memory stays bounded), that
    cannot be parsed, or that have no user or product column. Blank rows are skipped without
    changing the numbers of the rows after them.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    check_file_size(len(content))
    name = format or detect_format(content, filename)
    if name not in FORMATS:
        raise InvalidImportFile(_("Unknown format %(format)s: use csv, xlsx or json.")
                                % {"format": name})
    fmt = FORMATS[name]()
    headers, cells_iter = fmt.read(content)
    headers = [str(h or "").strip() for h in headers]

    user_cols = _pick(headers, USER_COLUMNS)
    product_cols = _pick(headers, PRODUCT_COLUMNS)
    action_cols = _pick(headers, ACTION_COLUMNS)
    missing = []
    if not user_cols:
        missing.append(_("a user column (\"username\" or \"e-mail\")"))
    if not product_cols:
        missing.append(_("a product column (\"product code\" or \"product\")"))
    if missing:
        raise InvalidImportFile(
            _("The first row must name the columns: %(missing)s is missing (found: "
              "%(found)s). An optional \"action\" column says grant (the default) or recall.")
            % {"missing": _(" and ").join(missing),
               "found": ", ".join(f'"{h}"' for h in headers if h) or _("no column names")})
    user_col, product_col = user_cols[0], product_cols[0]
    # Our own export has both a username and an e-mail column: use the e-mail when the
    # username cell is empty.
    fallback_col = next((i for i in user_cols[1:]
                         if _normalise_header(headers[i]) in EMAIL_COLUMNS), None)
    action_col = action_cols[0] if action_cols else None
    used = {user_col, product_col, action_col, fallback_col}
    unescape = unescape_formula if name != "json" else _identity

    limit = licensing_settings.IMPORT_MAX_ROWS
    rows = []
    for number, cells in cells_iter:
        width = len(cells)

        def cell(index, cells=cells, width=width):
            if index is None or index >= width:
                return ""
            return unescape(str(cells[index]).strip())

        user, product, action = cell(user_col), cell(product_col), cell(action_col)
        if not user and fallback_col is not None:
            user = cell(fallback_col)
        if not (user or product or action):
            continue
        if limit and len(rows) >= limit:
            raise InvalidImportFile(ngettext(
                "The file has more than %(limit)s row, the most accepted at once (the "
                "IMPORT_MAX_ROWS setting). Split it into smaller files.",
                "The file has more than %(limit)s rows, the most accepted at once (the "
                "IMPORT_MAX_ROWS setting). Split it into smaller files.", limit,
            ) % {"limit": number_format(limit, force_grouping=True)})
        rows.append(ImportRow(number, user, product, action))
    return AssignmentFile(
        filename=filename or "", format=name, rows=rows, user_column=headers[user_col],
        product_column=headers[product_col],
        action_column=headers[action_col] if action_col is not None else None,
        ignored_columns=[h for i, h in enumerate(headers) if i not in used and h],
    )


def _identity(value):
    return value


# Export --------------------------------------------------------------------------------------


def _user_field(name):
    """The user model's field called ``name``, if it has one."""
    try:
        return get_user_model()._meta.get_field(name)
    except FieldDoesNotExist:
        return None


class LicenseAssignmentResource(resources.ModelResource):
    """One row per license assignment: who holds which product, since when, from whom.

    Export-only: importing goes through ``read_assignments`` and the operations, so that the
    seat rules and the audit log hold. Rows are read with ``values()`` (no model instances),
    products' names and types come from the installed license file.
    """

    username = Field(attribute="a_username", column_name="Username")
    email = Field(attribute="a_email", column_name="E-mail")
    full_name = Field(attribute="a_full_name", column_name="Full name")
    active = Field(attribute="a_active", column_name="Active")
    user_type = Field(attribute="a_portal", column_name="User type")
    product_code = Field(attribute="product_code", column_name="Product code")
    product_name = Field(attribute="a_product_name", column_name="Product name")
    product_type = Field(attribute="a_product_type", column_name="Product type")
    granted_at = Field(attribute="granted_at", column_name="Granted at")
    granted_by = Field(attribute="a_granted_by", column_name="Granted by")
    has_seat = Field(attribute="has_seat", column_name="Has seat")

    class Meta:
        model = LicenseAssignment
        fields = ("username", "email", "full_name", "active", "user_type", "product_code",
                  "product_name", "product_type", "granted_at", "granted_by", "has_seat")
        export_order = fields
        chunk_size = 2000

    def __init__(self, users=None, product_codes=None, **kwargs):
        """``users``: a user queryset (e.g. the System users listing's filtered one) whose
        assignments are exported; ``product_codes``: only these products."""
        super().__init__(**kwargs)
        self.users = users
        self.product_codes = list(product_codes) if product_codes else None
        self.timezone = timezone.get_current_timezone()

    def export_resource(self, instance, selected_fields=None, **kwargs):
        # import_export looks the fields and their dehydrate methods up again for every row;
        # they never change, so look them up once (a third of a large export's time).
        if selected_fields:
            return super().export_resource(instance, selected_fields, **kwargs)
        if not hasattr(self, "_dehydrators"):
            self._dehydrators = [getattr(self, f"dehydrate_{self.get_field_name(field)}")
                                 for field in self.get_export_fields()]
        return [dehydrate(instance) for dehydrate in self._dehydrators]

    def get_queryset(self):
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
            "a_username", "a_email", "a_full_name", "a_active", "a_portal", "product_code",
            "a_product_name", "a_product_type", "granted_at", "a_granted_by", "has_seat",
        )

    # Values are returned as they should appear: text, or True/False for the yes/no columns
    # (a boolean cell in XLSX, true/false in JSON, TRUE/FALSE once Excel opens the CSV).

    def dehydrate_username(self, row):
        return row["a_username"] or ""

    def dehydrate_email(self, row):
        return row["a_email"] or ""

    def dehydrate_full_name(self, row):
        return row["a_full_name"] or ""

    def dehydrate_active(self, row):
        return bool(row["a_active"])

    def dehydrate_user_type(self, row):
        return "portal" if row["a_portal"] else "employee"

    def dehydrate_product_code(self, row):
        return row["product_code"]

    def dehydrate_product_name(self, row):
        return row["a_product_name"] or ""

    def dehydrate_product_type(self, row):
        return row["a_product_type"] or ""

    def dehydrate_granted_at(self, row):
        value = row["granted_at"]
        if not value:
            return ""
        if timezone.is_aware(value):
            value = timezone.localtime(value, self.timezone)
        return value.isoformat(timespec="seconds")

    def dehydrate_granted_by(self, row):
        return row["a_granted_by"] or ""

    def dehydrate_has_seat(self, row):
        return bool(row["has_seat"])


def export_assignments(format="csv", *, users=None, product_codes=None):
    """``(content, content_type, extension)`` of the assignments in the given format."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {format!r}: use csv, xlsx or json.")
    fmt = EXPORT_FORMATS[format]()
    dataset = LicenseAssignmentResource(users=users, product_codes=product_codes).export()
    content = fmt.export_data(dataset)
    if isinstance(content, str):
        content = content.encode("utf-8")
    return content, fmt.get_content_type(), format
