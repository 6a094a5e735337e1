"""The limits of an uploaded assignments file, checked before and while it is read.

Each is refused with an ``InvalidImportFile`` that says which limit and what to do, so that a
large or hostile file costs bounded memory and time, never a server error.
"""

from __future__ import annotations

import zipfile

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import licensing_settings
from ..exceptions import InvalidImportFile

#: An .xlsx file may hold at most this many times ``IMPORT_MAX_FILE_SIZE`` once unzipped.
#: Real workbooks unzip to 5-20 times their size; a "zip bomb" to thousands of times.
MAX_DECOMPRESSION_RATIO = 50

#: JSON: a list of records is two levels deep; a list or object inside a cell may go this far.
MAX_JSON_DEPTH = 20


def check_file_size(size: int) -> None:
    """Refuse a file over ``IMPORT_MAX_FILE_SIZE`` before reading it."""
    limit = licensing_settings.IMPORT_MAX_FILE_SIZE
    if limit and size > limit:
        raise InvalidImportFile(
            _("The file is %(size)s; the largest file accepted is %(limit)s "
              "(the IMPORT_MAX_FILE_SIZE setting). Split it into smaller files.")
            % {"size": _size(size), "limit": _size(limit)})


def check_decompressed_size(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook that unzips to more than ``MAX_DECOMPRESSION_RATIO`` times the size
    limit, from its directory and before anything is unzipped (openpyxl reads every shared
    string into memory)."""
    limit = licensing_settings.IMPORT_MAX_FILE_SIZE
    if not limit:
        return
    total = sum(info.file_size for info in archive.infolist())
    if total > limit * MAX_DECOMPRESSION_RATIO:
        raise InvalidImportFile(
            _("The workbook unpacks to %(size)s, more than %(limit)s. Save it again as .xlsx "
              "or as CSV UTF-8, or split it into smaller files.")
            % {"size": _size(total), "limit": _size(limit * MAX_DECOMPRESSION_RATIO)})


def too_deeply_nested() -> InvalidImportFile:
    """The error for a JSON file nested deeper than ``MAX_JSON_DEPTH``, or than Python's parser
    goes (a thousand levels are an attack, not an export)."""
    return InvalidImportFile(_("The JSON file is nested too deeply: it must hold a list of "
                               "records, like [{\"username\": \"ann\", \"product\": "
                               "\"editor\"}]."))


def max_shared_strings() -> int:
    """The most shared strings an .xlsx may hold: 8 per row the row limit allows (a username,
    an e-mail, names, a product... each row has a few texts of its own), at least 10,000."""
    limit = max_rows()
    return max(10_000, 8 * (limit + 1)) if limit else 10 * 1024 * 1024


def row_number_limit() -> int:
    """The last row number a file may have, blank rows included: twice ``IMPORT_MAX_ROWS``
    and the header (0: no limit). Blank rows cost reading time too, so they count."""
    limit = max_rows()
    return 2 * limit + 1 if limit else 0


def too_many_rows_with_blanks(limit: int) -> InvalidImportFile:
    """The error for a file whose rows, blank ones included, go past ``row_number_limit``."""
    return InvalidImportFile(ngettext(
        "The file goes on past row %(limit)s, blank rows included: it may have at most %(max)s "
        "row of data (the IMPORT_MAX_ROWS setting), and blank rows count against the limit. "
        "Delete the blank rows at its end, or split it into smaller files.",
        "The file goes on past row %(limit)s, blank rows included: it may have at most %(max)s "
        "rows of data (the IMPORT_MAX_ROWS setting), and blank rows count against the limit. "
        "Delete the blank rows at its end, or split it into smaller files.", max_rows(),
    ) % {"limit": number_format(limit, force_grouping=True),
         "max": number_format(max_rows(), force_grouping=True)})


def check_row_count(rows: int) -> None:
    """Refuse ``rows`` data rows if they are more than ``IMPORT_MAX_ROWS``."""
    limit = max_rows()
    if limit and rows > limit:
        raise too_many_rows(limit)


def max_rows() -> int:
    """``IMPORT_MAX_ROWS``: the most data rows read from one file (0: no limit)."""
    return licensing_settings.IMPORT_MAX_ROWS


def too_many_rows(limit: int) -> InvalidImportFile:
    """The error for a file with more than ``limit`` data rows (blank rows do not count)."""
    return InvalidImportFile(ngettext(
        "The file has more than %(limit)s row, the most accepted at once (the "
        "IMPORT_MAX_ROWS setting). Split it into smaller files.",
        "The file has more than %(limit)s rows, the most accepted at once (the "
        "IMPORT_MAX_ROWS setting). Split it into smaller files.", limit,
    ) % {"limit": number_format(limit, force_grouping=True)})


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return _("%(n)s MB") % {"n": number_format(n / (1024 * 1024), 1)}
    if n >= 1024:
        return _("%(n)s KB") % {"n": number_format(n / 1024, 1)}
    return ngettext("%(n)d byte", "%(n)d bytes", n) % {"n": n}
