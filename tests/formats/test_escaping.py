"""Formula escaping ("CSV injection"): the one rule, and every download that applies it."""

import csv
import io

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from wagtail_licensing import operations
from wagtail_licensing.rules.escaping import escape_formula, unescape_formula

User = get_user_model()
SYSTEM_USERS = "wagtail_licensing_users:index"
ASSIGNMENTS_EXPORT = "/admin/licensing/assignments/export/"


@pytest.mark.parametrize("value", [
    "=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=x", "''+x",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    # A formula character after leading whitespace that a spreadsheet trims (issue 11).
    " =1+2", "   +1", "\t=1", "\r-1", "\n@SUM(A1)", " \t\r\n=x", "\n\n=cmd", "' =x", "''\n+x",
])
def test_formula_cells_are_escaped_and_unescape_exactly(value):
    escaped = escape_formula(value)
    assert escaped == "'" + value
    assert unescape_formula(escaped) == value


@pytest.mark.parametrize("value", ["ann", "ann@example.com", "'quoted", "", "a=b", "1-2",
                                   " ann", "\nann", "  a=b", "' x", "x\n=1"])
def test_harmless_cells_are_left_alone(value):
    assert escape_formula(value) == value
    assert unescape_formula(value) == value


def test_non_text_cells_are_left_alone():
    assert escape_formula(True) is True
    assert escape_formula(None) is None
    assert escape_formula(-3) == -3


@pytest.mark.parametrize("value", ["=1", "'=1", "''=1", "'''@x", "'\tx", "'plain", "''"])
def test_escaping_twice_unescapes_twice(value):
    # An escaped cell pasted into another export escapes again and still comes back exactly.
    assert unescape_formula(unescape_formula(escape_formula(escape_formula(value)))) == value


# Both downloads ---------------------------------------------------------------------------

# Usernames a spreadsheet would run, and two it would not; "'=x" is the case the System users
# download used to leave as it was (its rule looked at the first character only), so that the
# apostrophe a spreadsheet hides was lost and "=x" came back.
HOSTILE = {
    "=1+1": "'=1+1",
    "+sum": "'+sum",
    "-2": "'-2",
    "@cmd": "'@cmd",
    "\tuser": "'\tuser",
    "\ruser": "'\ruser",
    "'=x": "''=x",
    "''+x": "'''+x",
    "'plain": "'plain",
    "a=b": "a=b",
    # Whitespace a spreadsheet trims before the formula character (issue 11).
    " =1+1": "' =1+1",
    "  +x": "'  +x",
    "\n@cmd": "'\n@cmd",
    " \t-3": "' \t-3",
}


@pytest.fixture
def hostile_users(installed, manager):
    users = [User.objects.create_user(name, "", first_name="Odd") for name in HOSTILE]
    operations.grant(users, ["analytics"])  # unlimited seats
    return users


def _csv_usernames(content, column):
    rows = csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    return {row[column] for row in rows}


def _xlsx_usernames(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("Username")
    return {row[column] for row in rows[1:]}


def _content(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_system_users_and_assignments_downloads_escape_alike(client, manager, hostile_users,
                                                             fmt):
    client.force_login(manager)
    users_file = _content(client.get(reverse(SYSTEM_USERS), {"export": fmt}))
    assignments_file = _content(client.get(ASSIGNMENTS_EXPORT, {"format": fmt}))
    if fmt == "csv":
        in_users = _csv_usernames(users_file, "Username")
        in_assignments = _csv_usernames(assignments_file, "Username")
    else:
        in_users = _xlsx_usernames(users_file)
        in_assignments = _xlsx_usernames(assignments_file)
    expected = set(HOSTILE.values())
    if fmt == "xlsx":  # XML reads a carriage return back as a line feed, in both files
        expected = {value.replace("\r", "\n") for value in expected}
    assert in_assignments == expected  # only the hostile users hold licenses
    assert in_users == expected | {"manager"}
    # And what the import reads back is each name exactly.
    assert {unescape_formula(value) for value in HOSTILE.values()} == set(HOSTILE)


# A formula after leading whitespace, in a user's name, on every export surface (issue 11) --

SPACED_FIRST_NAME = " =1+2"  # a spreadsheet trims the space and runs the rest
SPACED_LAST_NAME = "\n@SUM(A1)"


@pytest.fixture
def spaced_user(installed, manager):
    user = User.objects.create_user("spaced", "spaced@example.com",
                                    first_name=SPACED_FIRST_NAME, last_name=SPACED_LAST_NAME)
    operations.grant([user], ["analytics"])
    return user


def _records(content, fmt):
    """Every row of a CSV or XLSX file, as dicts keyed by its headers."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


def _row_of(records, column, value):
    return next(record for record in records if record[column] == value)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_system_users_download_escapes_a_formula_after_spaces(client, manager, spaced_user,
                                                              fmt):
    client.force_login(manager)
    records = _records(_content(client.get(reverse(SYSTEM_USERS), {"export": fmt})), fmt)
    row = _row_of(records, "Username", "spaced")
    assert row["First name"] == "'" + SPACED_FIRST_NAME
    assert row["Last name"] == "'" + SPACED_LAST_NAME


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_assignments_download_escapes_a_formula_after_spaces(client, manager, spaced_user,
                                                             fmt):
    client.force_login(manager)
    response = client.get(ASSIGNMENTS_EXPORT, {"format": fmt})
    row = _row_of(_records(_content(response), fmt), "Username", "spaced")
    # The full name is "first last", trimmed by the database: "=1+2 ..." then, escaped.
    assert row["Full name"].startswith("'")
    assert unescape_formula(row["Full name"]).lstrip().startswith("=1+2")


def test_assignments_download_escapes_a_username_after_spaces(client, manager, installed):
    user = User.objects.create_user(" =1+2", "")
    operations.grant([user], ["analytics"])
    client.force_login(manager)
    records = _records(_content(client.get(ASSIGNMENTS_EXPORT, {"format": "csv"})), "csv")
    assert [record["Username"] for record in records] == ["' =1+2"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_command_escapes_a_formula_after_spaces(tmp_path, spaced_user, fmt):
    from django.core.management import call_command

    User.objects.create_user("\t=cmd|' /C calc'!A0", "")  # no license: not exported
    target = tmp_path / f"export.{fmt}"
    operations.grant([User.objects.create_user(" +1", "")], ["analytics"])
    call_command("licensing", "export", "--format", fmt, "-o", str(target))
    records = _records(target.read_bytes(), fmt)
    assert {record["Username"] for record in records} == {"' +1", "spaced"}
    assert _row_of(records, "Username", "spaced")["Full name"].startswith("'")


def test_json_export_keeps_values_exactly(client, manager, spaced_user):
    # JSON is not a spreadsheet format: no escaping, the value as it is (rules/escaping.py).
    import json

    client.force_login(manager)
    records = json.loads(_content(client.get(ASSIGNMENTS_EXPORT, {"format": "json"})))
    row = _row_of(records, "Username", "spaced")
    assert row["Full name"] == f"{SPACED_FIRST_NAME} {SPACED_LAST_NAME}".strip(" ")
