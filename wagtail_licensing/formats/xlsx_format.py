"""Excel workbooks (.xlsx), as Excel or LibreOffice save them."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.utils.translation import gettext as _
from import_export.formats import base_formats

from ..exceptions import InvalidImportFile
from .base import AssignmentFormatMixin, Table
from .limits import check_decompressed_size, max_shared_strings
from .streaming import stream_xlsx
from .xlsx_reading import read_sheet


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
            archive = zipfile.ZipFile(io.BytesIO(content))
            check_decompressed_size(archive)
            values = read_sheet(archive, max_shared_strings=max_shared_strings())
            first = next(values, None)
        except InvalidImportFile:
            raise
        except Exception as exc:  # noqa: BLE001 - a hostile file may raise anything: a bad
            # zip, malformed XML (a broken sharedStrings.xml), a DTD (defusedxml refuses it).
            raise _unreadable() from exc
        if first is None:
            raise InvalidImportFile(_("The file is empty."))
        header_row, headers = first

        def rows() -> Iterator[tuple[int, list[Any]]]:
            number = header_row
            try:
                for number, cells in values:  # noqa: B007
                    yield number, cells
            except InvalidImportFile:
                raise
            except Exception as exc:  # noqa: BLE001 - as above: a damaged workbook
                raise InvalidImportFile(
                    _("The workbook is damaged after row %(row)d. Save it again from Excel or "
                      "LibreOffice.") % {"row": number}) from exc
            finally:
                archive.close()

        return headers, rows()
