"""What the three assignment formats share: escaping on export, row-numbered reading on import.

They are django-import-export's format classes (so ``export_data`` and ``create_dataset`` work
as its documentation says) with two changes: formula escaping is always on for spreadsheet
formats, whatever ``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` says, and files are read row by
row, keeping the row numbers the manager sees in their spreadsheet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import tablib

from ..rules.escaping import escape_formula
from .streaming import escaped_rows

#: ``(headers, rows)``; rows yields ``(row number, cells)``.
Table = tuple[list[str], Iterator[tuple[int, list[Any]]]]


class AssignmentFormatMixin:
    """Export as a stream, with escaping always on; import row by row, keeping row numbers.

    ``stream(headers, rows)`` yields the file's bytes as the rows are read (``streaming``);
    ``export_data(dataset)``, import_export's API, is the same stream joined.

    ``read`` streams ``(number, cells)`` so that a large file is never held as a table of every
    column: ``read_assignments`` keeps only the three columns it needs. ``create_dataset``
    (the import_export API, for code that wants a ``tablib.Dataset``) is built on it. tablib's
    own readers drop blank lines (shifting row numbers) and misalign JSON records whose keys
    come in another order.
    """

    escape_formulae = True

    def stream(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
               title: str | None = None, expected_rows: int | None = None
               ) -> Iterator[bytes]:
        """The file's bytes, in chunks, with formula escaping (``rules.escaping``) of every
        text cell and header when ``escape_formulae``. Not import_export's escaping: that
        deletes a leading "=" and nothing else, and only when the site asks."""
        if self.escape_formulae:
            headers = [escape_formula(h) for h in headers]
            rows = escaped_rows(rows)
        return self.write_stream(headers, rows, title=title, expected_rows=expected_rows)

    def write_stream(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                     title: str | None, expected_rows: int | None) -> Iterator[bytes]:
        raise NotImplementedError

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> str | bytes:
        content = b"".join(self.stream(list(dataset.headers or []), dataset,
                                       title=dataset.title, expected_rows=len(dataset)))
        if self.is_binary():  # type: ignore[attr-defined]
            return content
        return content.decode("utf-8")

    def read(self, content: bytes) -> Table:
        """``(headers, rows)``; rows yields ``(number, cells)``. Raises InvalidImportFile."""
        raise NotImplementedError

    def create_dataset(self, in_stream: str | bytes, **kwargs: Any) -> tablib.Dataset:
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8")
        headers, rows = self.read(in_stream)
        dataset = tablib.Dataset(headers=headers)
        for _number, cells in rows:
            dataset.append(fit(cells, len(headers)))
        return dataset


def fit(cells: Sequence[Any], width: int) -> list[Any]:
    """``cells`` cut or padded with empty strings to ``width``."""
    cells = list(cells[:width])
    return cells + [""] * (width - len(cells))


def cell_text(value: Any) -> str:
    """Spreadsheet cell values as the text the user sees (123, not 123.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):  # dates, times, datetimes
        return value.isoformat()
    return str(value)
