"""The formats by name (as in URLs, the command's ``--format`` and file extensions)."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext as _

from ..exceptions import InvalidImportFile
from .base import AssignmentFormatMixin
from .csv_format import AssignmentCSV
from .json_format import AssignmentJSON
from .xlsx_format import AssignmentXLSX

#: Formats by the name used in URLs, commands and file extensions.
FORMATS: dict[str, type[AssignmentFormatMixin]] = {
    "csv": AssignmentCSV, "xlsx": AssignmentXLSX, "json": AssignmentJSON}
EXPORT_FORMATS = FORMATS

# Spreadsheet files people may try, refused with what to save instead.
_UNSUPPORTED = {"xls", "ods", "numbers", "tsv", "yaml", "yml", "html"}


def detect_format(content: bytes, filename: str = "") -> str:
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
