"""What the three assignment formats share: escaping on export, row-numbered reading on import.

They are django-import-export's format classes (so ``export_data`` and ``create_dataset`` work
as its documentation says) with two changes: formula escaping is always on for spreadsheet
formats, whatever ``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` says, and files are read row by
row, keeping the row numbers the manager sees in their spreadsheet.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import tablib

from ..rules.escaping import escape_formula

#: ``(headers, rows)``; rows yields ``(row number, cells)``.
Table = tuple[list[str], Iterator[tuple[int, list[Any]]]]


def escaped(dataset: tablib.Dataset) -> tablib.Dataset:
    """A copy of the dataset with every text cell escaped (headers included)."""
    copy = tablib.Dataset(headers=[escape_formula(h) for h in dataset.headers or []])
    copy.title = dataset.title
    for row in dataset:
        copy.append([escape_formula(cell) for cell in row])
    return copy


class AssignmentFormatMixin:
    """Export with escaping always on; import row by row, keeping row numbers.

    ``read`` streams ``(number, cells)`` so that a large file is never held as a table of every
    column: ``read_assignments`` keeps only the three columns it needs. ``create_dataset``
    (the import_export API, for code that wants a ``tablib.Dataset``) is built on it. tablib's
    own readers drop blank lines (shifting row numbers) and misalign JSON records whose keys
    come in another order.
    """

    escape_formulae = True

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> str | bytes:
        if self.escape_formulae:
            dataset = escaped(dataset)
        return self.write(dataset, **kwargs)

    def write(self, dataset: tablib.Dataset, **kwargs: Any) -> str | bytes:
        """The file's content. Not import_export's ``export_data``: that applies its own,
        weaker escaping (it deletes a leading "=" and nothing else) when the site asks."""
        return dataset.export(self.get_title(), **kwargs)  # type: ignore[attr-defined]

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
