"""JSON: a list of records, as exported, or a list of lists whose first is the header."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.utils.translation import gettext as _
from import_export.formats import base_formats

from ..exceptions import InvalidImportFile
from .base import AssignmentFormatMixin, Table, cell_text
from .encoding import decode_text
from .limits import MAX_JSON_DEPTH, too_deeply_nested
from .streaming import stream_json


def _cell(value: Any) -> str:
    """A record's value as text. A list or object in a cell is written out as Python shows it,
    if it is not nested deeper than ``MAX_JSON_DEPTH`` (``str`` of a deeper one could exhaust
    the stack)."""
    if isinstance(value, list | dict):
        _check_depth(value)
    return cell_text(value)


def _check_depth(value: list[Any] | dict[str, Any]) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise too_deeply_nested()
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, list | dict))


class AssignmentJSON(AssignmentFormatMixin, base_formats.JSON):
    """A JSON list of objects (as exported), or a list of lists whose first is the header."""

    # Spreadsheets do not open JSON as formulas: values are written, and read, exactly.
    escape_formulae = False

    def write_stream(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                     title: str | None, expected_rows: int | None) -> Iterator[bytes]:
        return stream_json(headers, rows)

    def read(self, content: bytes) -> Table:
        try:
            data: Any = json.loads(decode_text(content))
        except RecursionError as exc:
            raise too_deeply_nested() from exc
        except ValueError as exc:
            raise InvalidImportFile(_("The file is not valid JSON: %(error)s.")
                                    % {"error": exc}) from exc
        if not isinstance(data, list):
            raise InvalidImportFile(_("The JSON file must hold a list of records, like "
                                      "[{\"username\": \"ann\", \"product\": \"editor\"}]."))
        if not data:
            raise InvalidImportFile(_("The file is empty."))
        if all(isinstance(item, list) for item in data):
            headers = [_cell(v) for v in data[0]]
            rows = ((number, [_cell(v) for v in item])
                    for number, item in enumerate(data[1:], start=1))
            return headers, rows
        if not all(isinstance(item, dict) for item in data):
            raise InvalidImportFile(_("Every record of the JSON list must be an object, like "
                                      "{\"username\": \"ann\", \"product\": \"editor\"}."))
        # Keys in the order first seen: records need not list them in the same order.
        headers = list(dict.fromkeys(key for item in data for key in item))
        rows = ((number, [_cell(item.get(key)) for key in headers])
                for number, item in enumerate(data, start=1))
        return headers, rows
