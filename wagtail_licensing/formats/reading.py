"""Reading an assignments file into the rows an import plans: user, product, action.

Nothing here writes: planning and applying the rows is the job of ``operations.preview_import``
and ``operations.import_assignments``.
"""

from __future__ import annotations

import gc
import json
import re
import zlib
from typing import NamedTuple

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..exceptions import InvalidImportFile
from ..rules.escaping import unescape_formula
from .limits import (
    check_file_size,
    max_rows,
    row_number_limit,
    too_many_rows,
    too_many_rows_with_blanks,
)
from .registry import FORMATS, detect_format


class ImportRow(NamedTuple):
    """One row of an assignments file, as the manager sees it in their spreadsheet."""

    number: int  # spreadsheet row (the header is row 1); in JSON the record's position from 1
    user: str
    product: str
    action: str


class AssignmentFile(NamedTuple):
    """A parsed import file: only the columns the import reads."""

    filename: str
    format: str
    rows: list[ImportRow]  # blank rows left out
    user_column: str
    product_column: str
    action_column: str | None
    ignored_columns: list[str]

    def __len__(self) -> int:
        return len(self.rows)

    def dumps(self) -> bytes:
        """The parsed file, compact (compressed JSON), to keep between an import's preview and
        its confirmation instead of the file: reading a large .xlsx again costs seconds, this
        costs milliseconds."""
        data = {"filename": self.filename, "format": self.format,
                # Column by column: four lists rather than a list per row, which are cheaper
                # to load.
                "rows": [list(column) for column in zip(*self.rows, strict=True)] or [[]] * 4,
                "user_column": self.user_column,
                "product_column": self.product_column, "action_column": self.action_column,
                "ignored_columns": self.ignored_columns}
        return PARSED_MAGIC + zlib.compress(
            json.dumps(data, separators=(",", ":")).encode(), level=1)

    @classmethod
    def loads(cls, data: bytes) -> AssignmentFile | None:
        """What ``dumps`` wrote, or None for anything else (such as a file kept whole by an
        earlier version, which is then read again)."""
        if not data.startswith(PARSED_MAGIC):
            return None
        # The collector would walk the new rows over and over while they are created (two
        # thirds of the time at 100,000 rows); none of them can be part of a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            fields = json.loads(zlib.decompress(data[len(PARSED_MAGIC):]))
            fields["rows"] = list(map(ImportRow, *fields["rows"]))
            return cls(**fields)
        except (ValueError, TypeError, KeyError, zlib.error):
            return None
        finally:
            if collecting:
                gc.enable()


#: Starts what ``AssignmentFile.dumps`` writes: no CSV, .xlsx or JSON file starts like it.
PARSED_MAGIC = b"\x00wagtail-licensing parsed import 1\n"


# Normalised header -> priority (lower wins) for each column we read.
USER_COLUMNS = {"username": 0, "user": 1, "login": 2, "email": 3, "emailaddress": 3, "mail": 4}
PRODUCT_COLUMNS = {"productcode": 0, "product": 1, "code": 2}
ACTION_COLUMNS = {"action": 0}
EMAIL_COLUMNS = {"email", "emailaddress", "mail"}

_HEADER_NOISE = re.compile(r"[\s_\-.]+")


def _normalise_header(value: object) -> str:
    return _HEADER_NOISE.sub("", str(value or "")).lower()


def _pick(headers: list[str], aliases: dict[str, int]) -> list[int]:
    found = sorted((aliases[_normalise_header(h)], i) for i, h in enumerate(headers)
                   if _normalise_header(h) in aliases)
    return [i for _priority, i in found]


def _identity(value: str) -> str:
    return value


def read_assignments(content: bytes | str, *, filename: str = "",
                     format: str | None = None) -> AssignmentFile:
    """Read an assignments file (CSV, XLSX or JSON) into an ``AssignmentFile``.

    Refuses clearly, with ``InvalidImportFile``: files over ``IMPORT_MAX_FILE_SIZE``, with more
    data rows than ``IMPORT_MAX_ROWS`` (reading stops there, so memory stays bounded), that
    cannot be parsed, or that have no user or product column. Blank rows are skipped without
    changing the numbers of the rows after them. Formula escaping (of our own exports) is
    undone in CSV and XLSX; JSON is read exactly, as it is written.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    check_file_size(len(content))
    name = format or detect_format(content, filename)
    if name not in FORMATS:
        raise InvalidImportFile(_("Unknown format %(format)s: use csv, xlsx or json.")
                                % {"format": name})
    fmt = FORMATS[name]()
    headers, cells_iter = fmt.read(content)
    headers = [str(h or "").strip() for h in headers]

    user_cols = _pick(headers, USER_COLUMNS)
    product_cols = _pick(headers, PRODUCT_COLUMNS)
    action_cols = _pick(headers, ACTION_COLUMNS)
    missing = []
    if not user_cols:
        missing.append(_("a user column (\"username\" or \"e-mail\")"))
    if not product_cols:
        missing.append(_("a product column (\"product code\" or \"product\")"))
    if missing:
        raise InvalidImportFile(
            ngettext("The first row must name the columns: %(missing)s is missing (found: "
                     "%(found)s). An optional \"action\" column says grant (the default) or "
                     "recall.",
                     "The first row must name the columns: %(missing)s are missing (found: "
                     "%(found)s). An optional \"action\" column says grant (the default) or "
                     "recall.", len(missing))
            % {"missing": _(" and ").join(missing),
               "found": ", ".join(f'"{h}"' for h in headers if h) or _("no column names")})
    user_col, product_col = user_cols[0], product_cols[0]
    # Our own export has both a username and an e-mail column: use the e-mail when the
    # username cell is empty.
    fallback_col = next((i for i in user_cols[1:]
                         if _normalise_header(headers[i]) in EMAIL_COLUMNS), None)
    action_col = action_cols[0] if action_cols else None
    used = {user_col, product_col, action_col, fallback_col}
    unescape = unescape_formula if fmt.escape_formulae else _identity

    limit = max_rows()
    last_row = row_number_limit()
    rows: list[ImportRow] = []
    for number, cells in cells_iter:
        if last_row and number > last_row:
            raise too_many_rows_with_blanks(last_row)
        width = len(cells)

        def cell(index: int | None, cells: list = cells, width: int = width) -> str:
            if index is None or index >= width:
                return ""
            return unescape(str(cells[index]).strip())

        user, product, action = cell(user_col), cell(product_col), cell(action_col)
        if not user and fallback_col is not None:
            user = cell(fallback_col)
        if "\x00" in user or "\x00" in product or "\x00" in action:
            # No user name or product code holds one, and databases refuse them in queries.
            raise InvalidImportFile(
                _("Row %(row)d holds a NUL character (an invisible control character, often "
                  "left by a damaged file or a binary file saved as text). Remove it and "
                  "upload the file again.") % {"row": number})
        if not (user or product or action):
            continue
        if limit and len(rows) >= limit:
            raise too_many_rows(limit)
        rows.append(ImportRow(number, user, product, action))
    return AssignmentFile(
        filename=filename or "", format=name, rows=rows, user_column=headers[user_col],
        product_column=headers[product_col],
        action_column=headers[action_col] if action_col is not None else None,
        ignored_columns=[h for i, h in enumerate(headers) if i not in used and h],
    )
