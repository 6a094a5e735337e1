"""Spreadsheet formula escaping ("CSV injection"), for every CSV and XLSX download.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice or Google Sheets (OWASP, "CSV Injection"), and so is one whose
formula character follows leading spaces, tabs, carriage returns or line feeds (spreadsheets
trim them when a file is opened or pasted). A leading apostrophe makes it text. A value that
already starts with apostrophes before such a character gets one more, so that
``unescape_formula`` can undo exactly what ``escape_formula`` did: an exported file imports
back unchanged, even for a user whose name really starts with ``'=`` or ``' =``.

JSON exports are not escaped: no spreadsheet runs a JSON value as a formula, and an API
client reading one gets the value exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

# Apostrophes (already text to a spreadsheet, and ours to undo) then a tab or carriage return,
# or a formula character after any leading whitespace a spreadsheet trims.
_FORMULA_RE = re.compile(r"'*(?:[\t\r]|[ \t\r\n]*[=+\-@])")
# The characters such a cell can start with: most cells start with none of them, and testing
# the first character is cheaper than the regular expression (exports test every cell).
_FIRST = frozenset("'=+-@\t\r\n ")

_Value = TypeVar("_Value")


def escape_formula(value: _Value) -> _Value | str:
    """Text that a spreadsheet would evaluate, made inert with a leading apostrophe.

    Anything but text (numbers, booleans, dates, None) is returned as it is: a spreadsheet
    stores it as a value, never as a formula.
    """
    if isinstance(value, str) and value[:1] in _FIRST and _FORMULA_RE.match(value):
        return "'" + value
    return value


def escape_row(row: Iterable[_Value]) -> list[_Value | str]:
    """``escape_formula`` of every cell of ``row``, inlined: an export calls it per row."""
    first, match = _FIRST, _FORMULA_RE.match
    return ["'" + cell if isinstance(cell, str) and cell[:1] in first and match(cell) else cell
            for cell in row]


# A cell of a column joined with NUL (``escape_column``), but the first, that starts with one
# of ``_FIRST`` (a literal first character: the search skips from NUL to NUL).
_FIRST_IN_JOINED = re.compile(r"\x00['=+\-@\t\r\n ]")


def escape_column(values: Sequence[_Value]) -> Sequence[_Value | str]:
    """``escape_formula`` of every value of a column (a chunk of an export's rows, by column).

    Returns ``values`` itself when no cell needs escaping, which one search of the column's
    text joined with NUL tells for the whole column (a NUL inside a cell can only make the
    search find too much, never too little): most columns of most chunks need nothing, and
    testing cell by cell was a fifth of a CSV export's time.
    """
    try:
        joined = "\x00".join(values)  # type: ignore[arg-type]
    except TypeError:  # not all text
        if not any(issubclass(kind, str) for kind in set(map(type, values))):
            return values
    else:
        if joined[:1] not in _FIRST and _FIRST_IN_JOINED.search(joined) is None:
            return values
    return [escape_formula(value) for value in values]


def unescape_formula(value: str) -> str:
    """Undo ``escape_formula`` on a cell read back from a CSV or XLSX file."""
    if value.startswith("'") and _FORMULA_RE.match(value):
        return value[1:]
    return value
