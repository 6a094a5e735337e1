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
])
def test_formula_cells_are_escaped_and_unescape_exactly(value):
    escaped = escape_formula(value)
    assert escaped == "'" + value
    assert unescape_formula(escaped) == value


@pytest.mark.parametrize("value", ["ann", "ann@example.com", "'quoted", "", "a=b", "1-2"])
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
