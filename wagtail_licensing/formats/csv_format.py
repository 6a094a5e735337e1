"""CSV as Excel and LibreOffice write it, in every locale."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.utils.translation import gettext as _
from import_export.formats import base_formats

from ..exceptions import InvalidImportFile
from .base import AssignmentFormatMixin, Table
from .encoding import decode_text
from .streaming import stream_csv

DELIMITERS = (",", ";", "\t")


def csv_problem(error: csv.Error) -> str:
    """What Python's csv error means for someone who edited the file by hand: Python's own
    text ("',' expected after '\"'") is not written for them."""
    text = str(error)
    if "field larger than field limit" in text:
        return _("a cell is far longer than any username or product code.")
    if "NUL" in text:
        return _("it contains a NUL character, which a text file does not.")
    # "',' expected after '"'", "unexpected end of data", "new-line character seen in
    # unquoted field": all a quote out of place, or one never closed.
    return _('a double quote (") is out of place or never closed. A cell that contains a '
             'quote, the separator or a line break must be in double quotes, with each quote '
             'inside doubled (""); saving the file again from a spreadsheet program does that.')


class AssignmentCSV(AssignmentFormatMixin, base_formats.CSV):
    """CSV, comma, semicolon or tab separated (as Excel writes it in every locale)."""

    def write_stream(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                     title: str | None, expected_rows: int | None) -> Iterator[bytes]:
        # The BOM makes Excel read the file as UTF-8 rather than the local code page.
        return stream_csv(headers, rows, bom=True)

    def read(self, content: bytes) -> Table:
        text = decode_text(content)
        first_line = text.split("\n", 1)[0]
        delimiter = max(DELIMITERS, key=first_line.count)
        if not first_line.count(delimiter):
            delimiter = ","
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
            headers = next(reader, None)
        except csv.Error as exc:
            raise InvalidImportFile(_("The CSV file cannot be read: %(problem)s")
                                    % {"problem": csv_problem(exc)}) from exc
        if headers is None:
            raise InvalidImportFile(_("The file is empty."))

        def rows() -> Iterator[tuple[int, list[Any]]]:
            number = 1
            try:
                for cells in reader:
                    number += 1
                    yield number, cells
            except csv.Error as exc:
                raise InvalidImportFile(
                    _("Row %(row)d of the CSV file cannot be read: %(problem)s")
                    % {"row": number + 1, "problem": csv_problem(exc)}) from exc

        return headers, rows()
