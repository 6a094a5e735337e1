"""Reading the first sheet of an .xlsx workbook, streaming and bounded.

openpyxl's read-only mode reads every shared string into memory before the first row and pads
the gaps between rows with empty ones (a single cell on row 20,000,000 costs twenty million
rows), so an upload of a few kilobytes can take minutes and hundreds of megabytes. This reader
parses the parts it needs with defusedxml's ``iterparse`` (no DTDs, no entity expansion),
clears each row once read, never creates the rows a file leaves out, and checks the limits as
it goes:

- the shared strings table holds at most ``max_shared_strings`` strings (checked from its
  declared count first, then while it is read);
- every row number, blank rows included, counts against the row limit (``reading.py`` stops
  at the first row past it, whatever the rows before it held).

Cells are returned as the text a user sees: shared and inline strings as written, numbers
without a trailing ``.0``, booleans as TRUE/FALSE. Dates stay serial numbers (no user or product
cell is a date).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from defusedxml.ElementTree import iterparse as _defused_iterparse  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from ..exceptions import InvalidImportFile

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
SHARED_STRINGS_TYPE = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                       "sharedStrings")
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


class XlsxFormatError(Exception):
    """The workbook's structure is not what Excel or LibreOffice write."""


def _iterparse(source: IO[bytes], events: tuple[str, ...] = ("end",)) -> Iterator[Any]:
    """defusedxml's ``iterparse``: no DTD, no entity expansion, no external references."""
    return _defused_iterparse(source, events=events, forbid_dtd=True)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter) - 64)
    return index - 1


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of ``part``."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    found: dict[str, tuple[str, str]] = {}
    if rels not in archive.namelist():
        return found
    with archive.open(rels) as stream:
        for _event, element in _iterparse(stream):
            if element.tag == f"{RELS}Relationship":
                target = element.get("Target", "")
                if target.startswith("/"):
                    target = target.lstrip("/")
                else:
                    target = posixpath.normpath(posixpath.join(folder, target))
                found[element.get("Id", "")] = (element.get("Type", ""), target)
    return found


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, str | None]:
    """(the active sheet's part, the shared strings part or None)."""
    workbook = "xl/workbook.xml"
    for kind, target in _relationships(archive, "").values():  # the package's _rels/.rels
        if kind.endswith("/officeDocument"):
            workbook = target
    if workbook not in archive.namelist():
        raise XlsxFormatError("no workbook part")
    sheets: list[str] = []
    active = 0
    with archive.open(workbook) as stream:
        for _event, element in _iterparse(stream):
            if element.tag == f"{MAIN}sheet":
                sheets.append(element.get(R_ID, ""))
            elif element.tag == f"{MAIN}workbookView":
                active = int(element.get("activeTab", "0") or 0)
    if not sheets:
        raise XlsxFormatError("no sheet")
    rels = _relationships(archive, workbook)
    sheet_id = sheets[active] if 0 <= active < len(sheets) else sheets[0]
    if sheet_id not in rels:
        raise XlsxFormatError("the sheet has no part")
    shared = next((target for kind, target in rels.values() if kind == SHARED_STRINGS_TYPE),
                  None)
    return rels[sheet_id][1], shared


def _shared_strings(archive: zipfile.ZipFile, part: str | None, limit: int) -> list[str]:
    if part is None or part not in archive.namelist():
        return []
    strings: list[str] = []
    pieces: list[str] = []
    with archive.open(part) as stream:
        for event, element in _iterparse(stream, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == f"{MAIN}sst":
                    declared = element.get("uniqueCount") or element.get("count") or "0"
                    if declared.isdigit() and int(declared) > limit:
                        raise too_many_shared_strings(limit)
                continue
            if tag == f"{MAIN}t":
                pieces.append(element.text or "")
            elif tag == f"{MAIN}rPh":  # phonetic hints are not part of the text
                pieces.clear()
            elif tag == f"{MAIN}si":
                strings.append("".join(pieces))
                pieces.clear()
                element.clear()
                if len(strings) > limit:
                    raise too_many_shared_strings(limit)
    return strings


def too_many_shared_strings(limit: int) -> InvalidImportFile:
    return InvalidImportFile(
        _("The workbook's table of texts holds more than %(limit)d entries, more than a file "
          "within the row limit (the IMPORT_MAX_ROWS setting) can use. Save it again as .xlsx "
          "or as CSV UTF-8, or split it into smaller files.") % {"limit": limit})


def _number_text(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return value


def read_sheet(archive: zipfile.ZipFile, *, max_shared_strings: int
               ) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of the workbook's active sheet, in file order; rows the file
    leaves out are not produced."""
    sheet, shared_part = _first_sheet(archive)
    if sheet not in archive.namelist():
        raise XlsxFormatError("the sheet part is missing")
    shared = _shared_strings(archive, shared_part, max_shared_strings)
    last = 0
    with archive.open(sheet) as stream:
        cells: dict[int, str] = {}
        column = 0
        for _event, element in _iterparse(stream):
            tag = element.tag
            if tag == f"{MAIN}c":
                match = _CELL_REF.match(element.get("r", ""))
                if match:
                    column = _column_index(match.group(1))
                kind = element.get("t", "n")
                value_element = element.find(f"{MAIN}v")
                raw = value_element.text if value_element is not None else None
                text = ""
                if kind == "s":
                    if raw is None or not raw.isdigit() or int(raw) >= len(shared):
                        raise XlsxFormatError("a cell names a text the workbook lacks")
                    text = shared[int(raw)]
                elif kind == "inlineStr":
                    text = "".join(t.text or "" for t in element.iter(f"{MAIN}t"))
                elif kind == "b":
                    text = "TRUE" if raw == "1" else "FALSE"
                elif raw is not None:
                    text = raw if kind in ("str", "e") else _number_text(raw)
                if text:
                    cells[column] = text
                column += 1
                element.clear()
            elif tag == f"{MAIN}row":
                number = element.get("r")
                row_number = int(number) if number and number.isdigit() else last + 1
                if row_number <= last:
                    raise XlsxFormatError("rows out of order")
                last = row_number
                width = max(cells) + 1 if cells else 0
                yield row_number, [cells.get(i, "") for i in range(width)]
                cells = {}
                column = 0
                element.clear()
