"""Spreadsheet formula escaping ("CSV injection"), for every CSV and XLSX download.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice or Google Sheets (OWASP, "CSV Injection"). A leading apostrophe
makes it text. A value that already starts with apostrophes before such a character gets one
more, so that ``unescape_formula`` can undo exactly what ``escape_formula`` did: an exported
file imports back unchanged, even for a user whose name really starts with ``'=``.
"""

from __future__ import annotations

import re
from typing import TypeVar

# Apostrophes (already text to a spreadsheet, and ours to undo) then a formula character.
_FORMULA_RE = re.compile(r"'*[=+\-@\t\r]")

_Value = TypeVar("_Value")


def escape_formula(value: _Value) -> _Value | str:
    """Text that a spreadsheet would evaluate, made inert with a leading apostrophe.

    Anything but text (numbers, booleans, dates, None) is returned as it is: a spreadsheet
    stores it as a value, never as a formula.
    """
    if isinstance(value, str) and _FORMULA_RE.match(value):
        return "'" + value
    return value


def unescape_formula(value: str) -> str:
    """Undo ``escape_formula`` on a cell read back from a CSV or XLSX file."""
    if value.startswith("'") and _FORMULA_RE.match(value):
        return value[1:]
    return value
