"""Excel workbooks (.xlsx), as Excel or LibreOffice save them."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.utils.translation import gettext as _
from import_export.formats import base_formats
from openpyxl import load_workbook

from ..exceptions import InvalidImportFile
from .base import AssignmentFormatMixin, Table, cell_text
from .limits import check_decompressed_size
from .streaming import stream_xlsx


def _unreadable() -> InvalidImportFile:
    return InvalidImportFile(
        _("The file cannot be read as an Excel workbook (.xlsx). Save it again from "
          "Excel or LibreOffice as .xlsx, or as CSV UTF-8."))


class AssignmentXLSX(AssignmentFormatMixin, base_formats.XLSX):
    """The first (active) sheet of an .xlsx workbook, as Excel or LibreOffice saves it."""

    def write_stream(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                     title: str | None, expected_rows: int | None) -> Iterator[bytes]:
        return stream_xlsx(headers, rows, title=title or "Assignments",
                           expected_rows=expected_rows)

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
        except InvalidImportFile:
            raise
        except Exception as exc:  # noqa: BLE001 - openpyxl raises anything on a hostile file
            # (malformed XML such as a broken sharedStrings.xml is a SyntaxError subclass).
            raise _unreadable() from exc
        if headers is None:
            workbook.close()
            raise InvalidImportFile(_("The file is empty."))

        def rows() -> Iterator[tuple[int, list[Any]]]:
            number = 1
            try:
                for number, cells in enumerate(values, start=2):  # noqa: B007
                    yield number, [cell_text(cell) for cell in cells]
            except InvalidImportFile:
                raise
            except Exception as exc:  # noqa: BLE001 - as above: a damaged workbook
                raise InvalidImportFile(
                    _("The workbook is damaged after row %(row)d. Save it again from Excel or "
                      "LibreOffice.") % {"row": number}) from exc
            finally:
                workbook.close()

        return [cell_text(cell) for cell in headers], rows()
