"""Fuzzing import files in every format: whatever the bytes, reading gives rows or a clear
refusal (``InvalidImportFile``), and planning the rows gives row errors, never an exception."""

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from wagtail_licensing import operations
from wagtail_licensing.exceptions import InvalidImportFile
from wagtail_licensing.formats import read_assignments

from ..formats.test_resources import xlsx_bytes
from .test_license_files import JSON, mutations

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # make test and the PostgreSQL run

HEADERS = st.sampled_from(["username", "user", "email", "product", "product code", "code",
                           "action", "notes", ""]) | st.text(max_size=12)
CELLS = st.one_of(st.sampled_from(["user0", "manager", "editor", "analytics", "grant",
                                   "recall", "=1+2", "'=x", "", " "]), st.text(max_size=20))
TABLES = st.lists(st.lists(CELLS, max_size=5), max_size=12)


def read_and_plan(content: bytes, filename: str) -> None:
    try:
        assignments = read_assignments(content, filename=filename)
    except InvalidImportFile as refused:
        assert refused.message
        return
    plan = operations.preview_import(assignments)  # row errors at worst
    assert plan.error_count == len(plan.errors) or plan.errors_left_out


def as_csv(header: list[str], rows: list[list[str]]) -> bytes:
    stream = io.StringIO()
    csv.writer(stream).writerows([header, *rows])
    return stream.getvalue().encode()


@given(data=st.binary(max_size=2048), name=st.sampled_from(["x.csv", "x.xlsx", "x.json", "x"]))
def test_random_bytes_in_any_format(installed, data, name):
    read_and_plan(data, name)


@given(header=st.lists(HEADERS, min_size=1, max_size=5), rows=TABLES)
def test_random_csv_tables(installed, make_users, header, rows):
    read_and_plan(as_csv(header, rows), "people.csv")


@given(value=JSON)
def test_random_json_documents(installed, value):
    read_and_plan(json.dumps(value).encode(), "people.json")


@given(records=st.lists(st.dictionaries(HEADERS, CELLS | JSON, max_size=4), max_size=8))
def test_random_json_records(installed, records):
    read_and_plan(json.dumps(records).encode(), "people.json")


VALID_CSV = b"username,product,action\nuser0,editor,grant\nmanager,analytics,recall\n"
VALID_XLSX = xlsx_bytes([["username", "product", "action"], ["user0", "editor", "grant"],
                         ["manager", "analytics", "recall"]])
VALID_JSON = json.dumps([{"username": "user0", "product": "editor"}]).encode()


@given(st.data())
@pytest.mark.parametrize(("name", "original"), [
    ("people.csv", VALID_CSV), ("people.xlsx", VALID_XLSX), ("people.json", VALID_JSON)])
def test_mutations_of_valid_files(installed, name, original, data):
    read_and_plan(data.draw(mutations(original)), name)


@given(header=st.lists(HEADERS, min_size=1, max_size=4), rows=TABLES)
def test_random_xlsx_tables(installed, header, rows):
    def legal(cells):  # what a spreadsheet can hold at all (openpyxl refuses the rest)
        return [ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in cells]

    read_and_plan(xlsx_bytes([legal(header), *map(legal, rows)]), "people.xlsx")
