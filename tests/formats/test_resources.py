"""Resources and formats: the export's columns and formula escaping, reading import files."""

import io
import json
from pathlib import Path

import openpyxl
import pytest
import tablib
from django.contrib.auth import get_user_model

from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.exceptions import InvalidImportFile
from wagtail_licensing.formats import (
    AssignmentCSV,
    AssignmentJSON,
    AssignmentXLSX,
    ImportRow,
    detect_format,
    read_assignments,
)
from wagtail_licensing.models import PortalUser
from wagtail_licensing.resources import LicenseAssignmentResource, export_assignments

FILES = Path(__file__).resolve().parents[1] / "files"
HEADERS = ["Username", "E-mail", "Full name", "Active", "User type", "Product code",
           "Product name", "Product type", "Granted at", "Granted by", "Has seat",
           "Source"]


def xlsx_bytes(rows):
    """A real workbook, as openpyxl (like Excel and LibreOffice) writes it."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Assignments"
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


# Formula escaping on export (the rule itself: test_escaping.py) ------------------------------


@pytest.fixture
def formula_user(db, installed):
    User = get_user_model()
    user = User.objects.create_user("=cmd|' /C calc'!A0", "@evil@example.com",
                                    first_name="+Mallory", last_name="-Hacker")
    operations.grant([user], ["editor"])
    return user


@pytest.mark.parametrize("setting", [False, True])
def test_csv_export_always_escapes_formulae(formula_user, settings, setting):
    # Whatever django-import-export's own setting says (it only deletes a leading "=").
    settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = setting
    content, content_type, extension = export_assignments("csv")
    assert content_type == "text/csv" and extension == "csv"
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    dataset = tablib.Dataset().load(text.lstrip("\ufeff"), format="csv")
    row = dataset.dict[0]
    assert row["Username"] == "'=cmd|' /C calc'!A0"
    assert row["E-mail"] == "'@evil@example.com"
    assert row["Full name"] == "'+Mallory -Hacker"
    # Every text cell is inert: none starts with a formula character.
    for value in dataset[0]:
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("setting", [False, True])
def test_xlsx_export_writes_text_never_formulae(formula_user, settings, setting):
    settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = setting
    content, content_type, extension = export_assignments("xlsx")
    assert extension == "xlsx" and "spreadsheetml" in content_type
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert [cell.value for cell in sheet[1]] == HEADERS
    cells = {header: cell for header, cell in zip(HEADERS, sheet[2], strict=True)}
    assert cells["Username"].value == "'=cmd|' /C calc'!A0"
    assert cells["Username"].data_type == "s"
    assert cells["E-mail"].value == "'@evil@example.com"
    assert cells["Full name"].value == "'+Mallory -Hacker"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    # Yes/no columns stay booleans.
    assert cells["Active"].value is True and cells["Has seat"].value is True


def test_json_export_is_exact(formula_user):
    content, content_type, _ext = export_assignments("json")
    assert content_type == "application/json"
    row = json.loads(content)[0]
    assert row["Username"] == "=cmd|' /C calc'!A0"
    assert row["Active"] is True and row["Has seat"] is True


def test_format_classes_escape_any_dataset():
    dataset = tablib.Dataset(["=1+1", "ok"], headers=["a", "b"])
    assert AssignmentCSV().export_data(dataset) == "\ufeffa,b\r\n'=1+1,ok\r\n"
    assert dataset[0] == ("=1+1", "ok")  # the caller's dataset is not changed
    assert json.loads(AssignmentJSON().export_data(dataset)) == [{"a": "=1+1", "b": "ok"}]
    sheet = openpyxl.load_workbook(io.BytesIO(AssignmentXLSX().export_data(dataset))).active
    assert sheet["A2"].value == "'=1+1"


def test_xlsx_export_replaces_control_characters():
    dataset = tablib.Dataset(["bad\x07name"], headers=["a"])
    sheet = openpyxl.load_workbook(io.BytesIO(AssignmentXLSX().export_data(dataset))).active
    assert sheet["A2"].value == "bad\N{REPLACEMENT CHARACTER}name"


# Export columns ------------------------------------------------------------------------------


def test_export_columns(installed, make_users, manager):
    employees = make_users(2)
    portal = make_users(1, prefix="portal", portal=True)
    operations.grant(employees, ["editor"], user=manager)
    operations.grant(portal, ["portal"])
    employees[1].is_active = False
    employees[1].save()
    with count_queries() as queries:
        dataset = LicenseAssignmentResource().export()
    assert len(queries) <= 2
    assert dataset.headers == HEADERS
    rows = dataset.dict
    assert [(r["Username"], r["Product code"]) for r in rows] == [
        ("portal0", "portal"), ("user0", "editor"), ("user1", "editor")]
    portal_row, first, second = rows
    assert first["E-mail"] == "user0@example.com"
    assert first["Full name"] == "User 0"
    assert first["Active"] is True and second["Active"] is False
    assert first["User type"] == "employee" and portal_row["User type"] == "portal"
    assert first["Product name"] == "CMS editor" and first["Product type"] == "named"
    assert portal_row["Product name"] == "Customer portal"
    assert first["Granted by"] == "manager" and portal_row["Granted by"] == ""
    assert first["Has seat"] is True and second["Has seat"] is False
    assert first["Granted at"].endswith(("+00:00", "+01:00"))  # ISO 8601, local time


def test_export_of_a_product_the_license_no_longer_has(install, make_users):
    install()
    user = make_users(1)[0]
    operations.grant([user], ["occasional"])
    install(products=[{"code": "editor", "name": "CMS editor", "type": "named", "seats": 5,
                       "valid_from": "2020-01-01", "valid_until": "2099-01-01"}])
    row = LicenseAssignmentResource().export().dict[0]
    assert row["Product code"] == "occasional"
    assert row["Product name"] == "" and row["Product type"] == ""


def test_export_of_selected_users_and_products(installed, make_users):
    users = make_users(3)
    operations.grant(users, ["editor", "analytics"])
    User = get_user_model()
    dataset = LicenseAssignmentResource(users=User.objects.filter(username="user1")).export()
    assert {(r["Username"], r["Product code"]) for r in dataset.dict} == {
        ("user1", "analytics"), ("user1", "editor")}
    dataset = LicenseAssignmentResource(product_codes=["analytics"]).export()
    assert {r["Product code"] for r in dataset.dict} == {"analytics"}
    assert len(dataset) == 3


# Reading import files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["assignments.csv", "assignments_bom.csv",
                                  "assignments_semicolon.csv", "assignments.json"])
def test_sample_files_are_read_alike(name):
    assignments = read_assignments((FILES / name).read_bytes(), filename=name)
    users = [row.user.split("@")[0] for row in assignments.rows]
    assert users == ["user0", "user1", "user2"]
    assert [row.product for row in assignments.rows] == ["editor", "analytics", "editor"]
    assert [row.action for row in assignments.rows] == ["grant", "", ""]


def test_bom_is_not_part_of_the_first_column_name():
    with_bom = read_assignments((FILES / "assignments_bom.csv").read_bytes(), filename="a.csv")
    without = read_assignments((FILES / "assignments.csv").read_bytes(), filename="a.csv")
    assert with_bom.user_column == without.user_column == "username"
    assert with_bom.rows == without.rows
    assert with_bom.rows[0] == ImportRow(2, "user0", "editor", "grant")


def test_csv_row_numbers_match_the_spreadsheet():
    content = (b"username,product\n"
               b"ann,editor\n"
               b"\n"  # a blank line is a row in the spreadsheet too
               b",\n"
               b"\"bob\",\"multi\nline\"\n"
               b"cy,editor\n")
    rows = read_assignments(content, filename="x.csv").rows
    assert [(row.number, row.user) for row in rows] == [(2, "ann"), (5, "bob"), (6, "cy")]


def test_utf16_as_excel_unicode_text():
    content = "username\tproduct\nJosé\teditor\n".encode("utf-16")
    rows = read_assignments(content, filename="x.csv").rows
    assert rows == [ImportRow(2, "José", "editor", "")]


def test_xlsx_as_excel_saves_it():
    content = xlsx_bytes([
        ["Username", "Product code", "Action", "Note"],
        ["ann", "editor", "grant", "first"],
        [None, None, None, None],  # a blank row keeps the numbering
        [12345, "analytics", None, None],  # a number typed into a cell
        ["'=x", "editor", "RECALL", None],
        ["cy", "editor"],
    ])
    assignments = read_assignments(content, filename="people.xlsx")
    assert assignments.format == "xlsx"
    assert assignments.rows == [
        ImportRow(2, "ann", "editor", "grant"),
        ImportRow(4, "12345", "analytics", ""),
        ImportRow(5, "=x", "editor", "RECALL"),
        ImportRow(6, "cy", "editor", ""),
    ]
    assert assignments.ignored_columns == ["Note"]


def test_xlsx_is_detected_without_an_extension():
    content = xlsx_bytes([["user", "product"], ["ann", "editor"]])
    assert detect_format(content, "upload") == "xlsx"
    assert read_assignments(content).rows == [ImportRow(2, "ann", "editor", "")]


def test_json_records_in_any_key_order_and_list_of_lists():
    content = json.dumps([{"product": "editor", "user": "ann"},
                          {"user": "bob", "action": "recall", "product": "analytics"}])
    assert read_assignments(content.encode(), filename="x.json").rows == [
        ImportRow(1, "ann", "editor", ""), ImportRow(2, "bob", "analytics", "recall")]
    content = json.dumps([["username", "product"], ["ann", "editor"], ["bob", 7]])
    assert read_assignments(content.encode(), filename="x.json").rows == [
        ImportRow(1, "ann", "editor", ""), ImportRow(2, "bob", "7", "")]


def test_json_values_are_not_unescaped():
    content = json.dumps([{"username": "'=x", "product": "editor"}]).encode()
    assert read_assignments(content, filename="x.json").rows[0].user == "'=x"


def test_an_export_has_both_user_columns_and_falls_back_to_email():
    content = (b"Username,E-mail,Product code,Product name\n"
               b"ann,ann@example.com,editor,CMS editor\n"
               b",bob@example.com,editor,CMS editor\n")
    assignments = read_assignments(content, filename="x.csv")
    assert [row.user for row in assignments.rows] == ["ann", "bob@example.com"]
    assert assignments.product_column == "Product code"
    assert assignments.ignored_columns == ["Product name"]


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"", "x.csv", "The file is empty"),
    (b"name,product\nann,editor\n", "x.csv", "a user column"),
    (b"username,licence\nann,editor\n", "x.csv", "a product column"),
    (b"{\"username\": \"ann\"}", "x.json", "must hold a list of records"),
    (b"[1, 2]", "x.json", "must be an object"),
    (b"[{", "x.json", "not valid JSON"),
    (b"PK\x03\x04 not really a workbook", "x.xlsx", "cannot be read as an Excel workbook"),
    (b"whatever", "x.xls", ".xls files cannot be imported"),
    (b"username,product\n\"ann,editor\n", "x.csv", "cannot be read"),
])
def test_unreadable_files_are_refused_clearly(content, filename, message):
    with pytest.raises(InvalidImportFile, match=message):
        read_assignments(content, filename=filename)


def test_not_utf8_is_refused_with_what_to_do():
    with pytest.raises(InvalidImportFile, match="CSV UTF-8"):
        read_assignments((FILES / "assignments_not_utf8.csv").read_bytes(), filename="x.csv")


def test_file_size_limit(settings):
    settings.WAGTAIL_LICENSING = {"IMPORT_MAX_FILE_SIZE": 100}
    with pytest.raises(InvalidImportFile, match="the largest file accepted is 100 bytes"):
        read_assignments(b"username,product\n" + b"ann,editor\n" * 10, filename="x.csv")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_row_limit(settings, fmt):
    settings.WAGTAIL_LICENSING = {"IMPORT_MAX_ROWS": 3}
    rows = [["username", "product"]] + [[f"u{i}", "editor"] for i in range(4)]
    if fmt == "csv":
        content = "\n".join(",".join(row) for row in rows).encode()
    elif fmt == "xlsx":
        content = xlsx_bytes(rows)
    else:
        content = json.dumps(rows).encode()
    with pytest.raises(InvalidImportFile, match="more than 3 rows"):
        read_assignments(content, filename=f"x.{fmt}")
    settings.WAGTAIL_LICENSING = {"IMPORT_MAX_ROWS": 4}
    assert len(read_assignments(content, filename=f"x.{fmt}")) == 4


def test_blank_rows_are_not_data_rows_but_count_towards_the_last_row(settings):
    settings.WAGTAIL_LICENSING = {"IMPORT_MAX_ROWS": 2}  # rows up to 2 x 2 + 1 = 5 may be read
    content = b"username,product\n,\n,\nann,editor\n,\n"
    assert len(read_assignments(content, filename="x.csv")) == 1
    with pytest.raises(InvalidImportFile, match="past row 5, blank rows included"):
        read_assignments(content + b",\n", filename="x.csv")


def test_portal_marker_in_export(installed, make_users):
    user = make_users(1)[0]
    PortalUser.objects.create(user=user)
    operations.grant([user], ["portal"])
    assert LicenseAssignmentResource().export().dict[0]["User type"] == "portal"


@pytest.mark.parametrize(("fmt", "content"), [
    (AssignmentCSV, b"username,product\nann,editor\nbob\n"),
    (AssignmentJSON, b'[{"username": "ann", "product": "editor"}, {"username": "bob"}]'),
    (AssignmentXLSX, xlsx_bytes([["username", "product"], ["ann", "editor"], ["bob"]])),
])
def test_formats_still_give_import_export_datasets(fmt, content):
    dataset = fmt().create_dataset(content)
    assert dataset.headers == ["username", "product"]
    assert dataset.dict == [{"username": "ann", "product": "editor"},
                            {"username": "bob", "product": ""}]
