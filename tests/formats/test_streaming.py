"""Streamed exports: the same files as before, written as the rows are read, in bounded
memory, through the web export and the command."""

import csv
import io
import json
import threading
import tracemalloc
import zipfile
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
import tablib
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.actions import counters
from wagtail_licensing.formats import AssignmentCSV, AssignmentJSON, AssignmentXLSX, streaming
from wagtail_licensing.formats.reading import read_assignments
from wagtail_licensing.models import LicenseAssignment
from wagtail_licensing.resources import LicenseAssignmentResource, stream_assignments
from wagtail_licensing.rules.escaping import escape_formula

EXPORT_URL = "/admin/licensing/assignments/export/"

HEADERS = ["Name", "Note", "Flag", "Count"]
TRICKY = [
    ["ann", "=1+1", True, 3],
    ["björk, \"the\" singer", "line\nbreak", False, 0],
    ["  spaced  ", "@SUM(A1)", None, 2.5],
    ["", "-2", True, -1],
    ["tab\there", "'=already", False, 10**12],
    ["ctrl\x01char", "<b>&amp;</b>", True, 7],
]


def dataset(rows=TRICKY, headers=HEADERS):
    data = tablib.Dataset(headers=headers)
    for row in rows:
        data.append(row)
    return data


def test_csv_is_what_tablib_wrote_with_the_formula_escaping():
    escaped = dataset([[escape_formula(c) for c in row] for row in TRICKY])
    assert AssignmentCSV().export_data(dataset()) == "\ufeff" + escaped.export("csv")


def test_json_is_json_dumps_of_the_records_unescaped():
    assert AssignmentJSON().export_data(dataset()) == json.dumps(dataset().dict)
    assert AssignmentJSON().export_data(dataset([])) == "[]"


def test_xlsx_opens_with_types_positions_header_and_escaping():
    content = AssignmentXLSX().export_data(dataset())
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet.title == "Assignments"
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == len("björk, \"the\" singer") + 2
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert values[0] == ["ann", "'=1+1", True, 3]
    assert values[1] == ["björk, \"the\" singer", "line\nbreak", False, 0]
    assert values[2] == ["  spaced  ", "'@SUM(A1)", None, 2.5]  # spaces kept, None empty
    assert values[3] == [None, "'-2", True, -1]  # an empty first cell keeps the columns
    assert values[4] == ["tab\there", "''=already", False, 10**12]
    assert values[5] == ["ctrl\N{REPLACEMENT CHARACTER}char", "<b>&amp;</b>", True, 7]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_xlsx_writes_dates_as_dates():
    when = datetime(2026, 12, 2, 16, 30, tzinfo=UTC)
    content = AssignmentXLSX().export_data(dataset([[when, date(2026, 1, 31)]], ["At", "On"]))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet["A2"].value == datetime(2026, 12, 2, 16, 30)
    assert sheet["A2"].is_date and sheet["B2"].value.date() == date(2026, 1, 31)


def test_a_large_xlsx_gets_zip64_sizes_and_still_opens(monkeypatch):
    monkeypatch.setattr(streaming, "ZIP64_ROWS", 2)
    content = b"".join(streaming.stream_xlsx(["a"], [["x"], ["y"], ["z"]], expected_rows=3))
    # The sheet's local header carries a ZIP64 extra field (header id 0x0001).
    name = b"xl/worksheets/sheet1.xml"
    header = content.index(name) - 30
    extra_length = int.from_bytes(content[header + 28:header + 30], "little")
    assert extra_length and content[header + 30 + len(name):][:2] == b"\x01\x00"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert [c.value for c in sheet["A"]] == ["a", "x", "y", "z"]


class Rows:
    """Rows made on demand, counting how many the writer has taken."""

    def __init__(self, count):
        self.count = count
        self.taken = 0

    def __iter__(self):
        for number in range(self.count):
            self.taken += 1
            yield [f"user{number:07d}", "editor", True, "2026-12-02T16:30:00+00:00"]


@pytest.mark.parametrize("writer", [streaming.stream_csv, streaming.stream_json,
                                    streaming.stream_xlsx])
def test_bytes_leave_before_the_rows_are_all_read(writer):
    rows = Rows(20_000)
    chunks = writer(["u", "p", "s", "t"], rows)
    sent = 0
    for chunk in chunks:
        sent += len(chunk)
        if rows.taken and sent > 1000:
            break
    assert rows.taken <= streaming.CHUNK_ROWS + streaming.WIDTH_SAMPLE


@pytest.mark.parametrize("writer", [streaming.stream_csv, streaming.stream_json,
                                    streaming.stream_xlsx])
def test_memory_does_not_grow_with_the_rows(writer):
    def peak(count):
        tracemalloc.start()
        for _chunk in writer(["u", "p", "s", "t"], Rows(count)):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak(5_000), peak(50_000)
    assert large < small * 1.5, (small, large)
    assert large < 8_000_000


# Through the resource, the view and the command ---------------------------------------------


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def holders(installed, make_users):
    users = make_users(30)
    operations.grant(users, ["analytics", "editor"][:1])
    operations.grant(users[:5], ["editor"])
    return users


@pytest.mark.django_db
@pytest.mark.parametrize("format", ["csv", "json", "xlsx"])
def test_a_streamed_export_imports_back_unchanged(holders, format):
    content = b"".join(stream_assignments(format).chunks)
    plan = operations.preview_import(read_assignments(content, filename=f"a.{format}"))
    assert plan.unchanged == LicenseAssignment.objects.count() == 35
    assert not plan.has_errors


@pytest.mark.django_db
def test_the_stream_is_the_resource_export_written_out(holders):
    dataset = LicenseAssignmentResource().export()
    streamed = b"".join(stream_assignments("csv").chunks).decode()
    assert streamed == AssignmentCSV().export_data(dataset)


@pytest.mark.django_db
def test_the_web_export_reads_the_rows_only_as_it_sends_them(holders, manager_client):
    with count_queries() as before_streaming:
        response = manager_client.get(EXPORT_URL, {"format": "csv"})
    assert response.streaming and response["X-Accel-Buffering"] == "no"
    # Before the body is read, the export's rows have only been counted.
    assert not any('"a_username"' in sql for sql in before_streaming.sql)
    assert any("COUNT(" in sql and "licenseassignment" in sql for sql in before_streaming.sql)
    with count_queries() as streaming_queries:
        content = response.getvalue()
    # The installed products' names once, then the rows, read in chunks by one cursor.
    assert len(streaming_queries) == 2
    assert '"a_username"' in streaming_queries.sql[1]
    assert content.decode("utf-8-sig").count("\n") == 36


@pytest.mark.django_db
def test_the_export_page_warns_of_a_large_export_before_it_starts(holders, manager_client,
                                                                 monkeypatch):
    page = manager_client.get(EXPORT_URL).content.decode()
    assert "data-export-slow" not in page
    monkeypatch.setitem(streaming.ROWS_PER_SECOND, "xlsx", 5)  # 35 rows: 7 seconds
    page = manager_client.get(EXPORT_URL).content.decode()
    assert "data-export-slow" in page
    assert "A large export" in page and "Excel workbook (.xlsx): about 7 seconds." in page
    assert "CSV (Excel, LibreOffice): about" not in page


class Terminal(StringIO):
    def isatty(self):
        return True


@pytest.mark.django_db
def test_the_command_shows_progress_on_a_terminal_only(holders, tmp_path):
    target = tmp_path / "a.csv"
    err = Terminal()
    call_command("licensing", "export", "-o", str(target), stderr=err)
    assert "\rExported 35 of 35 assignments (100%)" in err.getvalue()
    assert len(list(csv.reader(target.open(encoding="utf-8-sig")))) == 36
    piped = StringIO()
    call_command("licensing", "export", "-o", str(target), stderr=piped)
    assert piped.getvalue() == f"Wrote 35 license assignments to {target}.\n"
    out = StringIO()
    call_command("licensing", "export", "--format", "json", stdout=out, stderr=piped)
    assert len(json.loads(out.getvalue())) == 35


@pytest.mark.slow
@pytest.mark.django_db
def test_a_million_assignments_export_through_the_command_in_bounded_memory(
        postgresql_only, installed, tmp_path):
    """1,000,000 assignments (250,000 users holding four products each), exported as CSV to a
    file: every row is there, and Python's memory stays bounded."""
    User = get_user_model()
    users = User._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {users} (username, password, first_name, last_name, email, "  # noqa: S608
            "is_superuser, is_staff, is_active, date_joined) "
            "SELECT 'bulk' || lpad(n::text, 7, '0'), '', 'Bulk', n::text, '', false, false, "
            "true, now() FROM generate_series(1, 250000) n")
        cursor.execute(
            f"INSERT INTO {LicenseAssignment._meta.db_table} "  # noqa: S608
            "(user_id, product_code, has_seat, granted_at, source) "
            "SELECT u.id, p.code, true, %s, 'import' FROM " + users + " u, "
            "(VALUES ('analytics'), ('editor'), ('occasional'), ('other')) p(code) "
            "WHERE u.username LIKE 'bulk%%'", [timezone.now()])
        cursor.execute("ANALYZE")
    counters.recount(["analytics", "editor", "occasional", "other"])
    target = tmp_path / "million.csv"
    with ResidentMemory() as memory:  # tracemalloc would triple the time
        call_command("licensing", "export", "-o", str(target), stderr=StringIO())
    with target.open("rb") as fh:
        lines = sum(1 for _line in fh)
    assert lines == 1_000_001
    assert target.stat().st_size > 90_000_000
    # The file is over 90 MB; the process grew by a bounded buffer, not by the file.
    assert memory.growth < 60_000_000, f"{memory.growth / 1e6:.0f} MB"


class ResidentMemory:
    """The growth of this process's resident memory while the block runs, sampled by a
    thread every 50 ms (Linux ``/proc``)."""

    def __init__(self):
        self.growth = 0
        self._stop = threading.Event()

    @staticmethod
    def now():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc/self/status")

    def _sample(self):
        while not self._stop.wait(0.05):
            self.growth = max(self.growth, self.now() - self.start)

    def __enter__(self):
        self.start = self.now()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.growth = max(self.growth, self.now() - self.start)


# Written by column: the same bytes as cell by cell -------------------------------------------

COLUMN_VALUES = [
    "ann", "", " lead", "trail ", "a&b<c>d", "=1+1", "'=x", "\ttab", "line\nbreak", "nul\x00in",
    "ctrl\x01", "björk", "\u00a0nbsp", "zero\u200bwidth", "x" * 60, "-2", "@a", "+1",
    "back\\slash", 'a "quote"', "del\x7f", "comma, too", "~tilde",
]
OTHER_VALUES = [True, False, None, 0, -1, 2.5, 10**12, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5)]


def columns_chunks():
    """Chunks whose columns are all text (each value of COLUMN_VALUES spoiling one column of
    plain text at a time), all booleans, or mixed; and ragged rows."""
    plain = [[f"user{i}", f"u{i}@example.com", "Ann Smith", "editor"] for i in range(5)]
    yield plain
    for value in COLUMN_VALUES + OTHER_VALUES:
        for column in range(4):
            chunk = [list(row) for row in plain]
            chunk[2][column] = value
            yield chunk
    yield [[True, False, "x"], [False, True, ""]]
    yield [["a", 1], ["b"], ["c", None, True]]


@pytest.mark.parametrize("chunk", list(columns_chunks()))
def test_xlsx_rows_by_column_are_the_rows_cell_by_cell(chunk):
    by_cell = "".join(streaming._row(number, row) for number, row in enumerate(chunk, start=7))
    assert streaming._rows(7, chunk) == by_cell


@pytest.mark.parametrize("chunk", list(columns_chunks()))
def test_json_by_column_is_json_dumps_of_the_records(chunk):
    headers = ["Name", "E-mail", "Full \"name\"", "Product"]
    records = [dict(zip(headers, row, strict=False)) for row in chunk]
    text = b"".join(streaming.stream_json(headers, streaming.Chunked([chunk, chunk]))).decode()
    assert text == json.dumps(records + records, default=streaming._json_default)


@pytest.mark.parametrize("chunk", list(columns_chunks()))
def test_escaping_by_column_is_escaping_cell_by_cell(chunk):
    expected = [[escape_formula(value) for value in row] for row in chunk]
    assert [list(row) for row in streaming.escape_chunk(chunk)] == expected


def _csv_by_writer(chunk):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(chunk)
    return buffer.getvalue()


@pytest.mark.parametrize("chunk", list(columns_chunks()) + [
    [["", ""], ["", ""]], [[""], ["a"]], [["a"], ["b"]], [[True, "x"], [False, "y"]],
    [[1, "x"], [2, "y"]]])
def test_csv_by_column_is_what_the_csv_writer_writes(chunk):
    held = streaming.Columns(list(zip(*chunk, strict=True)), len(chunk)) if len(
        {len(row) for row in chunk}) == 1 else chunk
    lines = streaming._csv_lines(held)
    assert (_csv_by_writer(chunk) if lines is None else lines) == _csv_by_writer(chunk)
    assert b"".join(streaming.stream_csv(["a", "b"], streaming.Chunked([held]))) == (
        "\ufeffa,b\r\n" + _csv_by_writer(chunk)).encode()


def test_csv_by_column_writes_every_character_as_the_csv_writer_does():
    """Each character of Unicode in a cell: the text as it is exactly when the writer
    writes it so (``_CSV_SPECIAL`` is every character that it quotes, on this Python)."""
    for start in range(0, 0x110000, 0x10000):
        cells = [chr(code) for code in range(start, start + 0x10000)]
        plain = [cell for cell in cells if not streaming._CSV_SPECIAL(cell)]
        assert _csv_by_writer([[cell, "x"] for cell in plain]) == "".join(
            cell + ",x\r\n" for cell in plain)
        for cell in filter(streaming._CSV_SPECIAL, cells):
            assert streaming._csv_lines([[cell, "x"]]) is None
            assert cell == "\x00" or _csv_by_writer([[cell, "x"]]) != cell + ",x\r\n", cell
        assert streaming._csv_lines([[cell, "x"] for cell in plain]) == "".join(
            cell + ",x\r\n" for cell in plain)


def test_the_export_reads_the_rows_values_list_reads(holders):
    """The driver's rows, converted by column (``column_chunks``), are values_list's."""
    from wagtail_licensing.resources import column_chunks

    resource = LicenseAssignmentResource()
    names = [field.attribute for field in resource.get_export_fields()]
    queryset = resource.get_queryset()
    rows = [row for chunk in column_chunks(queryset, names, 2) for row in chunk]
    assert rows == list(queryset.values_list(*names))
    assert len(rows) > 2


@pytest.mark.parametrize("chunk", [c for c in columns_chunks() if len({len(r) for r in c}) == 1])
def test_chunks_held_by_column_are_written_as_their_rows(chunk):
    held = streaming.Columns(list(zip(*chunk, strict=True)), len(chunk))
    assert [list(row) for row in held] == chunk
    assert streaming._rows(3, held) == streaming._rows(3, chunk)
    assert [list(row) for row in streaming.escape_chunk(held)] == [
        list(row) for row in streaming.escape_chunk(chunk)]
    headers = ["a", "b", "c", "d"][:len(chunk[0])]
    for writer in (streaming.stream_csv, streaming.stream_json):
        assert b"".join(writer(headers, streaming.Chunked([held]))) == b"".join(
            writer(headers, chunk))


def test_a_widget_whose_render_a_project_overrides_renders_each_cell(holders):
    """The column shortcuts are the built-in widgets' own: a subclass's ``render`` is
    called for each cell."""
    from wagtail_licensing.resources import RowField, TextWidget

    class Shouting(TextWidget):
        def render(self, value, obj=None, **kwargs):
            return (value or "").upper()

    class Resource(LicenseAssignmentResource):
        username = RowField(attribute="a_username", column_name="Username", widget=Shouting())

    plain = list(LicenseAssignmentResource().rows())
    shouted = list(Resource().rows())
    assert [row[0] for row in shouted] == [row[0].upper() for row in plain]
    assert [row[1:] for row in shouted] == [row[1:] for row in plain]


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Lord_Howe",
                                  "Asia/Kolkata", "Africa/Casablanca", "UTC"])
def test_dates_and_times_by_column_are_the_cells_rendered_one_by_one(zone):
    """A column of distinct seconds (mapped over the column) and one of shared seconds
    (formatted once per value) are what the widget renders cell by cell, across daylight
    saving changes, half-hour offsets and None."""
    from wagtail_licensing.resources import LocalISODateTimeWidget

    widget = LocalISODateTimeWidget()
    start = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp())
    distinct = [start + i * 3607 for i in range(0, 24 * 400, 4)]  # a year and more, hourly-ish
    shared = [start] * 50 + [start + 86_400] * 50
    with timezone.override(zone):
        render = widget.renderer()
        column_render = widget.column_renderer()
        for column in (distinct, shared, distinct[:10] + [None, ""], [None] * 3):
            assert column_render(column) == [render(value) for value in column]
