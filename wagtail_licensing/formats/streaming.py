"""Writing files as their rows are read: CSV, JSON and XLSX, in bounded memory.

Each writer takes the headers and an iterator of rows (lists of cell values) and yields the
file's bytes in chunks of about ``CHUNK_ROWS`` rows, so that a response or a file can send
them as they come: the first bytes leave before the last row is read, and memory holds one
chunk, whatever the number of rows.

The output is the same as the whole-file writers gave: CSV as Python's ``csv`` module writes
it (Excel's dialect) after a UTF-8 BOM, JSON as ``json.dumps`` of the list of records. XLSX is
written here rather than with openpyxl, whose write-only mode still keeps the sheet in a
temporary file until the end and spends most of an export creating a cell object per value:
a minimal workbook (one sheet of inline strings, a bold frozen header row, column widths from
the first rows) is zipped as it is written, as a spreadsheet program opens it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, time
from itertools import chain, islice, repeat
from json.encoder import encode_basestring_ascii
from typing import Any
from xml.sax.saxutils import quoteattr

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.datetime import to_excel

from ..rules.escaping import escape_column, escape_row

#: Rows written per chunk of output.
CHUNK_ROWS = 1000
#: Rows read to size the XLSX columns: enough to be representative, few enough to be quick.
WIDTH_SAMPLE = 1000
MAX_WIDTH = 50
#: zlib's level for the XLSX parts: the fastest, for a file about 1.3 times as large as at the
#: default level (6), which took a fifth to a third of the XLSX export's time.
COMPRESS_LEVEL = 1
#: Above this many rows an XLSX is written with ZIP64 sizes (its sheet could pass 2 GiB); below
#: it, without, as Excel itself writes small files.
ZIP64_ROWS = 1_000_000

#: Rows written per second, from ``benchmarks/exports.py`` on a busy two-core machine (SQLite
#: and PostgreSQL alike): what the export page's estimate of a large export is based on.
ROWS_PER_SECOND = {"csv": 50_000, "json": 50_000, "xlsx": 25_000}
#: An export expected to take longer than this says so before it starts.
SLOW_EXPORT_SECONDS = 5

Row = Sequence[Any]


def expected_seconds(format: str, rows: int) -> int:
    """About how long exporting ``rows`` in ``format`` takes, in whole seconds."""
    return -(-rows // ROWS_PER_SECOND[format])


class Chunked:
    """Rows that come a chunk (a list of rows) at a time, as an export reads them: the
    writers take them chunk by chunk rather than cutting them into chunks again. Iterating
    over it gives the rows."""

    def __init__(self, chunks: Iterable[Sequence[Row]]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[Row]:
        return chain.from_iterable(self.chunks)


class Columns(Sequence[Row]):
    """A chunk of rows held by column, as an export reads and renders them: the writers that
    write by column (XLSX, JSON, the escaping) take the columns as they are, without turning
    them into rows and back. Iterating over it, or indexing it, gives the rows."""

    __slots__ = ("columns", "length")

    def __init__(self, columns: Sequence[Sequence[Any]], length: int) -> None:
        self.columns = columns
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[Row]:
        if not self.columns:
            return iter([()] * self.length)
        return zip(*self.columns, strict=True)

    def __getitem__(self, index: Any) -> Any:
        return list(self)[index]


def chunks(rows: Iterable[Row], size: int = CHUNK_ROWS) -> Iterator[Sequence[Row]]:
    """The rows, a list of about ``size`` at a time (as they come, for ``Chunked`` rows)."""
    if isinstance(rows, Chunked):
        yield from (chunk for chunk in rows.chunks if chunk)
        return
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def columns_of(chunk: Sequence[Row]) -> list[Sequence[Any]] | None:
    """The chunk's columns, or None when its rows are not all as long (then each row is
    written by itself)."""
    if isinstance(chunk, Columns):
        return list(chunk.columns)
    if len(set(map(len, chunk))) != 1:
        return None
    return list(zip(*chunk, strict=False))


def escape_chunk(chunk: Sequence[Row]) -> Sequence[Row]:
    """Formula escaping (``rules.escaping``) of every text cell of a chunk, a column at a
    time (``escape_column``); the chunk itself when nothing needs it."""
    columns = columns_of(chunk)
    if columns is None:
        return [escape_row(row) for row in chunk]
    escaped = [escape_column(column) for column in columns]
    if all(new is old for new, old in zip(escaped, columns, strict=True)):
        return chunk
    if isinstance(chunk, Columns):
        return Columns(escaped, len(chunk))
    return list(zip(*escaped, strict=False))


def escaped_rows(rows: Iterable[Row]) -> Chunked:
    """Formula escaping (``rules.escaping``) of every text cell, as rows go by."""
    return Chunked(escape_chunk(chunk) for chunk in chunks(rows))


# CSV ------------------------------------------------------------------------------------------


class _Buffer:
    """What ``csv.writer`` writes to: text kept until the chunk is sent."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode("utf-8")
        self.parts.clear()
        return data


#: What makes ``csv.writer`` (Excel's dialect, minimal quoting) quote a cell or refuse it: the
#: delimiter, the quote, a line break (``tests/formats/test_streaming.py`` tries every
#: character). A column of text with none of them is written as it is.
_CSV_SPECIAL = re.compile('[,"\r\n\x00]').search
_CSV_BOOLEAN = {True: "True", False: "False"}


def _csv_column(values: Sequence[Any]) -> Sequence[str] | None:
    """The cells of a column of a chunk as ``csv.writer`` writes them, when that is the text
    itself (no cell to quote) or ``str`` of a boolean; None for anything else."""
    try:
        joined = "".join(values)
    except TypeError:  # not all text
        if set(map(type, values)) == {bool}:
            return list(map(_CSV_BOOLEAN.__getitem__, values))
        return None
    return None if _CSV_SPECIAL(joined) else values


def _csv_lines(chunk: Sequence[Row]) -> str | None:
    """A chunk's CSV lines as ``csv.writer.writerows`` writes them, by column: each column's
    text (``_csv_column``) interleaved into lines and joined, without a C call per cell. None
    when a column has a cell to quote or not text nor booleans (or a row a single cell, which
    the writer quotes when empty): then the writer writes the chunk."""
    columns = columns_of(chunk)
    if columns is None or len(columns) < 2:
        return None
    texts = []
    for column in columns:
        text = _csv_column(column)
        if text is None:
            return None
        texts.append(text)
    return "\r\n".join(map(",".join, zip(*texts, strict=True))) + "\r\n" if chunk else ""


def stream_csv(headers: Sequence[str], rows: Iterable[Row], *, bom: bool = True
               ) -> Iterator[bytes]:
    """CSV in Excel's dialect; with a BOM, so that Excel reads it as UTF-8."""
    buffer = _Buffer()
    writer = csv.writer(buffer)
    if bom:
        buffer.write("\ufeff")
    writer.writerow(headers)
    yield buffer.take()
    for chunk in chunks(rows):
        lines = _csv_lines(chunk)
        if lines is None:
            writer.writerows(chunk)
        else:
            buffer.write(lines)
        yield buffer.take()


# JSON -----------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


_JSON_BOOLEAN = {True: "true", False: "false"}


def _json_values(values: Sequence[Any], dumps: Callable[[Any], str]) -> Sequence[str]:
    """Each value of a column of a chunk as ``dumps`` writes it; text and booleans with one
    C call for the column (``json.dumps`` writes text with ``encode_basestring_ascii``)."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(encode_basestring_ascii, values))
    if kinds == {bool}:
        return list(map(_JSON_BOOLEAN.__getitem__, values))
    return list(map(dumps, values))


def _json_plain_texts(values: Sequence[Any]) -> bool:
    """Whether a column of a chunk is text that ``encode_basestring_ascii`` writes as it is,
    between quotes: printable ASCII (space to ``~``) without a quote or a backslash. Such a
    column is written with the quotes around it in the markup, without a call per cell."""
    try:
        joined = "".join(values)
    except TypeError:  # not all text
        return False
    return (joined.isascii() and joined.isprintable() and '"' not in joined
            and "\\" not in joined)


def stream_json(headers: Sequence[str], rows: Iterable[Row]) -> Iterator[bytes]:
    """A list of records, one per row, keyed by the headers: ``json.dumps`` of that list."""
    keys = list(headers)
    dumps = json.JSONEncoder(default=_json_default).encode
    # Records written by column, then interleaved, when each is its keys in order (text keys,
    # none twice); otherwise as dicts, the chunk's records encoded by one call.
    by_column = bool(keys) and all(key.__class__ is str for key in keys) and len(
        set(keys)) == len(keys)
    names = [encode_basestring_ascii(key) + ": " for key in keys] if by_column else []
    first = True
    yield b"["
    for chunk in chunks(rows):
        columns = columns_of(chunk) if by_column else None
        if columns is not None and len(columns) == len(keys):
            pieces: list[Iterable[str]] = []
            markup = "{"
            for name, column in zip(names, columns, strict=True):
                if _json_plain_texts(column):
                    pieces += [repeat(markup + name + '"'), column]
                    markup = '", '
                else:
                    pieces += [repeat(markup + name), _json_values(column, dumps)]
                    markup = ", "
            pieces.append(repeat(markup[:-2] + "}, "))
            text = "".join(chain.from_iterable(zip(*pieces, strict=False)))[:-2]
        else:
            # The list's brackets cut off: each record's text joined with ", ", as
            # json.dumps writes a list.
            text = dumps(list(map(dict, map(zip, repeat(keys), chunk))))[1:-1]
        yield (text if first else ", " + text).encode("utf-8")
        first = False
    yield b"]"


# XLSX -----------------------------------------------------------------------------------------

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/></Types>')
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
    f'Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC_RELS}/styles" Target="styles.xml"/></Relationships>')
# Styles: 0 normal, 1 bold (the header row), 2 a date and time, 3 a date.
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    '</cellStyles></styleSheet>')


def _workbook(title: str) -> str:
    return (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><sheets>'
            f'<sheet name={quoteattr(title)} sheetId="1" r:id="rId1"/></sheets></workbook>')


def sheet_title(title: str | None) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join(" " if c in "[]:*?/\\" else c for c in (title or "")).strip("' ")
    return cleaned[:31] or "Sheet1"


_ILLEGAL = ILLEGAL_CHARACTERS_RE.search
_CLEAN = ILLEGAL_CHARACTERS_RE.sub


def _text(value: str) -> str:
    """An inline string's ``<is>``: XML-escaped, control characters (which XLSX cannot
    store) replaced rather than failing, leading and trailing spaces kept."""
    if _ILLEGAL(value):
        value = _CLEAN("\N{REPLACEMENT CHARACTER}", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


def _cell(value: Any, style: int = 0) -> str:
    """One ``<c>`` element. Cells carry no ``r`` reference: each row writes all its cells,
    empty ones as ``<c/>``, so a reader counts the columns (as the format allows)."""
    s = f' s="{style}"' if style else ""
    if value.__class__ is str:
        if not value:
            return "<c/>"
        return f'<c t="inlineStr"{s}>{_text(value)}</c>'
    if value is None:
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"{s}><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f"<c{s}><v>{value!r}</v></c>"
    if isinstance(value, datetime | date):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # as shown in its own zone
        style = 2 if isinstance(value, datetime) else 3
        return f'<c s="{style}"><v>{to_excel(value)!r}</v></c>'
    return f'<c t="inlineStr"{s}>{_text(str(value))}</c>'


def _row(number: int, row: Row) -> str:
    cells: list[str] = []
    append = cells.append
    for value in row:
        # Text first and inline: nearly every cell of an export is text.
        if value.__class__ is str and value and not _ILLEGAL(value):
            text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if text[0].isspace() or text[-1].isspace():
                append(f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
            else:
                append(f'<c t="inlineStr"><is><t>{text}</t></is></c>')
        else:
            append(_cell(value))
    return f'<row r="{number}">{"".join(cells)}</row>'


_INLINE = '<c t="inlineStr"><is><t>{}</t></is></c>'.format
_TEXT_START = '<c t="inlineStr"><is><t>'
_TEXT_END = "</t></is></c>"
_BOOLEAN = {True: '<c t="b"><v>1</v></c>', False: '<c t="b"><v>0</v></c>'}


def _column_texts(values: Sequence[Any]) -> list[str] | None:
    """The XML-escaped texts of a column of a chunk that holds only text, each to be written
    as ``_cell`` writes it (an inline string, ``<c/>`` when empty); None for any other column.

    The common column costs a few C calls, not Python's work per cell (which was most of an
    XLSX export's time): joined with NUL, escaped, split again. Only when all its text is
    printable (no character XLSX cannot store, no NUL, no white space but the space) and no
    cell starts or ends with a space (``xml:space="preserve"``): anything else is written
    cell by cell."""
    try:
        if not "".join(values).isprintable():
            return None
    except TypeError:  # not all text
        return None
    joined = "\x00".join(values)
    if joined[:1] == " " or joined[-1:] == " " or "\x00 " in joined or " \x00" in joined:
        return None
    return joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split("\x00")


def _column_cells(values: Sequence[Any]) -> list[str]:
    """The ``<c>`` elements of one column of a chunk: ``_cell`` of each value."""
    if set(map(type, values)) == {bool}:
        return list(map(_BOOLEAN.__getitem__, values))
    texts = _column_texts(values)
    if texts is not None:
        return [_INLINE(text) if text else "<c/>" for text in texts]
    return [_cell(value) for value in values]


def _rows(first: int, chunk: Sequence[Row]) -> str:
    """The ``<row>`` elements of a chunk whose first row is number ``first``, as ``_row``
    writes each: written by column, then interleaved into rows (``zip``) and joined. A text
    column without empty cells is its texts between constant pieces of markup."""
    columns = columns_of(chunk)
    if columns is None:
        return "".join(_row(number, row) for number, row in enumerate(chunk, start=first))
    pieces: list[Iterable[str]] = [repeat('<row r="'), map(str, range(first, first + len(chunk)))]
    markup = '">'  # between the last piece and the next column
    for column in columns:
        texts = None if "" in column else _column_texts(column)
        if texts is None:
            pieces += [repeat(markup), _column_cells(column)]
            markup = ""
        else:
            pieces += [repeat(markup + _TEXT_START), texts]
            markup = _TEXT_END
    pieces.append(repeat(markup + "</row>"))
    return "".join(chain.from_iterable(zip(*pieces, strict=False)))


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 19
    return len(str(value))


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what is written until it is taken (``zipfile`` then
    writes each member's sizes after its data, as it must when it cannot seek back)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def stream_xlsx(headers: Sequence[str], rows: Iterable[Row], *, title: str | None = None,
                expected_rows: int | None = None) -> Iterator[bytes]:
    """A one-sheet workbook: a bold, frozen header row, then the rows. Text is written as
    inline strings, booleans and numbers as such, dates and times as Excel dates.
    ``expected_rows``: how many rows are coming; give it when there may be more than
    ``ZIP64_ROWS`` (their sheet needs ZIP64 sizes, which must be chosen before it is written)."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
    for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                       ("xl/workbook.xml", _workbook(sheet_title(title))),
                       ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                       ("xl/styles.xml", _STYLES)):
        archive.writestr(name, text)
    yield sink.take()  # the first bytes leave before the query has returned a row

    pending = chunks(rows)
    first_chunks: list[Sequence[Row]] = []
    for chunk in pending:
        first_chunks.append(chunk)
        if sum(map(len, first_chunks)) >= WIDTH_SAMPLE:
            break
    sample = list(islice(chain.from_iterable(first_chunks), WIDTH_SAMPLE))
    widths = [min(max([_width(h)] + [_width(r[i]) for r in sample if i < len(r)]) + 2,
                  MAX_WIDTH) for i, h in enumerate(headers)]
    large = expected_rows is not None and expected_rows > ZIP64_ROWS
    with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=large) as sheet:
        head = [f'{_XML}<worksheet xmlns="{_MAIN}">']
        if headers:
            head.append('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" '
                        'topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                        '<selection pane="bottomLeft"/></sheetView></sheetViews>')
            head.append("<cols>" + "".join(
                f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                for i, w in enumerate(widths, start=1)) + "</cols>")
        head.append("<sheetData>")
        number = 0
        if headers:
            number = 1
            head.append('<row r="1">' + "".join(_cell(header, 1) for header in headers)
                        + "</row>")
        sheet.write("".join(head).encode("utf-8"))
        yield sink.take()
        for chunk in chain(first_chunks, pending):
            sheet.write(_rows(number + 1, chunk).encode("utf-8"))
            number += len(chunk)
            yield sink.take()
        sheet.write(b"</sheetData></worksheet>")
    archive.close()
    yield sink.take()
