"""The limits on an uploaded file: an .xlsx that unzips too far and JSON nested too deeply are
refused with a clear error and nothing imported; a large real export still imports back."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from wagtail_licensing import operations
from wagtail_licensing.conf import licensing_settings
from wagtail_licensing.exceptions import InvalidImportFile
from wagtail_licensing.formats import read_assignments
from wagtail_licensing.formats.limits import MAX_DECOMPRESSION_RATIO
from wagtail_licensing.models import LicenseAssignment
from wagtail_licensing.resources import export_assignments

from ..support.licenses import product

IMPORT_URL = "/admin/licensing/assignments/import/"


def bomb(unzipped: int) -> bytes:
    """A tiny .xlsx-looking zip whose one member unzips to ``unzipped`` bytes of zeros."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * unzipped)
    return stream.getvalue()


@pytest.fixture
def small_limit(settings):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "IMPORT_MAX_FILE_SIZE": 10_000}
    return 10_000


def test_an_xlsx_that_unzips_past_the_limit_is_refused(small_limit):
    content = bomb(small_limit * MAX_DECOMPRESSION_RATIO + 1)
    assert len(content) < small_limit  # the file itself is within the size limit
    with pytest.raises(InvalidImportFile, match="unpacks to"):
        read_assignments(content, filename="people.xlsx")


def test_the_import_view_refuses_the_bomb_and_imports_nothing(installed, manager, client,
                                                                small_limit):
    client.force_login(manager)
    content = bomb(small_limit * MAX_DECOMPRESSION_RATIO + 1)
    response = client.post(IMPORT_URL, {"file": SimpleUploadedFile("people.xlsx", content)})
    assert response.status_code == 200
    assert "unpacks to" in response.content.decode()
    assert not LicenseAssignment.objects.exists()


def nested(depth: int) -> bytes:
    """One record whose "note" is a list ``depth`` levels deep (written as text: json.dumps
    itself cannot write 100,000 levels)."""
    note = "[" * depth + '"x"' + "]" * depth
    return ('[{"username": "user0", "product": "editor", "note": ' + note + "}]").encode()


@pytest.mark.parametrize("depth", [25, 100_000])
def test_json_nested_too_deeply_is_refused(depth):
    # 25 levels passes the parser but not MAX_JSON_DEPTH; 100,000 exceeds Python's parser.
    with pytest.raises(InvalidImportFile, match="nested too deeply"):
        read_assignments(nested(depth), filename="people.json")


def test_the_import_view_refuses_deep_json_without_a_server_error(installed, manager, client):
    client.force_login(manager)
    response = client.post(IMPORT_URL, {"file": SimpleUploadedFile("people.json",
                                                                   nested(100_000))})
    assert response.status_code == 200
    assert "nested too deeply" in response.content.decode()
    assert not LicenseAssignment.objects.exists()


def test_a_large_xlsx_export_imports_back_at_the_default_limits(install, make_users):
    # 20,000 rows of eleven columns unzip to about 25 times the workbook: far below the
    # ratio, and a fraction of IMPORT_MAX_FILE_SIZE times it.
    install(products=[product("editor", "named", None), product("analytics", "named", None)])
    users = make_users(10_000)
    operations.grant(users, ["editor", "analytics"])
    content, _type, _ext = export_assignments("xlsx")
    assignments = read_assignments(content, filename="export.xlsx")
    assert len(assignments) == 20_000
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    assert unzipped < licensing_settings.IMPORT_MAX_FILE_SIZE * MAX_DECOMPRESSION_RATIO


# Hostile cells and workbooks: a clear refusal, never a server error --------------------------


@pytest.mark.parametrize("cell", ["us\x00er1", "editor\x00"])
def test_a_nul_character_in_a_csv_cell_is_refused_with_its_row(cell):
    content = f"username,product\nuser0,editor\n{cell},editor\n".encode()
    with pytest.raises(InvalidImportFile, match="Row 3 holds a NUL character"):
        read_assignments(content, filename="people.csv")


def test_the_import_view_refuses_a_nul_character(installed, manager, client):
    client.force_login(manager)
    content = b"username,product\nus\x00er,editor\n"
    response = client.post(IMPORT_URL, {"file": SimpleUploadedFile("people.csv", content)})
    assert response.status_code == 200
    assert "NUL character" in response.content.decode()
    assert not LicenseAssignment.objects.exists()


TWO_SHARED_ROWS = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                   '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>')


def workbook(shared_strings: bytes, sheet_data: str = TWO_SHARED_ROWS,
             prologue: str = '<?xml version="1.0"?>') -> bytes:
    """A minimal .xlsx with ``shared_strings`` as its xl/sharedStrings.xml and ``sheet_data``
    as the <sheetData> of its one sheet (by default two rows of shared strings 0-3)."""
    ns = "http://schemas.openxmlformats.org"
    files = {
        "[Content_Types].xml": (
            f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/main" '
            f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{ns}/officeDocument/2006/relationships/'
            'sharedStrings" Target="sharedStrings.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (
            f'{prologue}<worksheet xmlns="{ns}/spreadsheetml/2006/main"><sheetData>'
            f'{sheet_data}</sheetData></worksheet>'),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr("xl/sharedStrings.xml", shared_strings)
    return buffer.getvalue()


SST = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def test_the_minimal_workbook_reads():
    good = SST + b"<si><t>username</t></si><si><t>product</t></si><si><t>user0</t></si>" \
        b"<si><t>editor</t></si></sst>"
    rows = read_assignments(workbook(good), filename="people.xlsx").rows
    assert [(row.user, row.product) for row in rows] == [("user0", "editor")]


@pytest.mark.parametrize("shared_strings", [
    SST + b"<si><t>username</t></si><si><t>broken",  # truncated XML
    b"\x00\x01 not XML at all",
    SST + b"<si><t>username</t></si></sst>",  # cells point past the shared strings
], ids=["truncated", "binary", "too-few-strings"])
def test_a_malformed_shared_strings_part_is_refused(installed, manager, client, shared_strings):
    content = workbook(shared_strings)
    with pytest.raises(InvalidImportFile, match="Excel workbook|damaged"):
        read_assignments(content, filename="people.xlsx")
    client.force_login(manager)
    response = client.post(IMPORT_URL, {"file": SimpleUploadedFile("people.xlsx", content)})
    assert response.status_code == 200
    assert not LicenseAssignment.objects.exists()


HEADER_ROW = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
HEADER_STRINGS = SST + b"<si><t>username</t></si><si><t>product</t></si>"


def inline_row(number: int, *values: str) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
                    for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def test_rows_an_xlsx_leaves_out_keep_their_numbers_and_cost_nothing():
    content = workbook(HEADER_STRINGS + b"</sst>",
                       HEADER_ROW + inline_row(7, "user0", "editor") + inline_row(9, "ann", "x"))
    rows = read_assignments(content, filename="people.xlsx").rows
    assert [(row.number, row.user, row.product) for row in rows] == [
        (7, "user0", "editor"), (9, "ann", "x")]


def test_a_cell_on_a_far_row_is_refused_without_reading_the_rows_before_it(settings):
    # A 2 KB file with one cell on row 20,000,000 took 47 s to read (openpyxl padded every row).
    content = workbook(HEADER_STRINGS + b"</sst>",
                       HEADER_ROW + inline_row(20_000_000, "user0", "editor"))
    assert len(content) < 3000
    with pytest.raises(InvalidImportFile, match="past row 400,001, blank rows included"):
        read_assignments(content, filename="far.xlsx")


def test_blank_xlsx_rows_count_against_the_row_limit(settings):
    settings.WAGTAIL_LICENSING = {"IMPORT_MAX_ROWS": 10}
    blank = "".join(f'<row r="{n}"/>' for n in range(2, 22))  # rows 2-21: the last allowed
    content = workbook(HEADER_STRINGS + b"</sst>", HEADER_ROW + blank)
    assert read_assignments(content, filename="blank.xlsx").rows == []
    content = workbook(HEADER_STRINGS + b"</sst>", HEADER_ROW + blank + '<row r="22"/>')
    with pytest.raises(InvalidImportFile, match="past row 21, blank rows included"):
        read_assignments(content, filename="blank.xlsx")


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_a_shared_strings_table_past_the_limit_is_refused(settings, declared):
    settings.WAGTAIL_LICENSING = {"IMPORT_MAX_ROWS": 10}  # at most 10,000 shared strings
    count = f' uniqueCount="{10_002}"'.encode() if declared else b""
    strings = SST[:-1] + count + b">"
    content = workbook(strings + b"<si><t>username</t></si><si><t>product</t></si>"
                       + b"<si><t>x</t></si>" * 10_000 + b"</sst>", HEADER_ROW)
    with pytest.raises(InvalidImportFile, match="more than 10000 entries"):
        read_assignments(content, filename="shared.xlsx")


@pytest.mark.parametrize("prologue", [
    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<?xml version="1.0"?><!DOCTYPE worksheet SYSTEM "file:///etc/passwd">',
], ids=["entities", "external"])
def test_an_xlsx_with_a_document_type_is_refused(prologue):
    content = workbook(HEADER_STRINGS + b"</sst>", HEADER_ROW + inline_row(2, "&b;", "editor"),
                       prologue=prologue)
    with pytest.raises(InvalidImportFile, match="Excel workbook"):
        read_assignments(content, filename="dtd.xlsx")
