"""Excel workbooks (.xlsx), as Excel or LibreOffice save them."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import tablib
from django.utils.translation import gettext as _
from import_export.formats import base_formats
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from ..exceptions import InvalidImportFile
from .base import AssignmentFormatMixin, Table, cell_text
from .limits import check_decompressed_size

#: Rows read to size the columns: enough to be representative, few enough to be quick.
WIDTH_SAMPLE = 1000
MAX_WIDTH = 50


def _clean(cell: Any) -> Any:
    # Control characters cannot be stored in XLSX: replace them rather than fail.
    if isinstance(cell, str):
        return ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", cell)
    return cell


def _unreadable() -> InvalidImportFile:
    return InvalidImportFile(
        _("The file cannot be read as an Excel workbook (.xlsx). Save it again from "
          "Excel or LibreOffice as .xlsx, or as CSV UTF-8."))


class AssignmentXLSX(AssignmentFormatMixin, base_formats.XLSX):
    """The first (active) sheet of an .xlsx workbook, as Excel or LibreOffice saves it."""

    def write(self, dataset: tablib.Dataset, **kwargs: Any) -> bytes:
        # openpyxl's write-only mode streams rows to the file: tablib's writer keeps every cell
        # as an object, hundreds of megabytes for a large export.
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=dataset.title or "Assignments")
        headers = [_clean(h) for h in dataset.headers or []]
        sample = [headers, *dataset[:WIDTH_SAMPLE]]
        for index in range(len(headers)):
            width = max(len(str(row[index] if row[index] is not None else "")) for row in sample)
            sheet.column_dimensions[get_column_letter(index + 1)].width = min(width + 2,
                                                                               MAX_WIDTH)
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
            sheet.append([_clean(cell) for cell in row])
        stream = io.BytesIO()
        workbook.save(stream)
        return stream.getvalue()

    def read(self, content: bytes) -> Table:
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                check_decompressed_size(archive)
        except zipfile.BadZipFile as exc:
            raise _unreadable() from exc
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            sheet = workbook.active
            values = sheet.iter_rows(values_only=True)
            headers = next(values, None)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise _unreadable() from exc
        if headers is None:
            workbook.close()
            raise InvalidImportFile(_("The file is empty."))

        def rows() -> Iterator[tuple[int, list[Any]]]:
            number = 1
            try:
                for number, cells in enumerate(values, start=2):  # noqa: B007
                    yield number, [cell_text(cell) for cell in cells]
            except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
                raise InvalidImportFile(
                    _("The workbook is damaged after row %(row)d. Save it again from Excel or "
                      "LibreOffice.") % {"row": number}) from exc
            finally:
                workbook.close()

        return [cell_text(cell) for cell in headers], rows()
