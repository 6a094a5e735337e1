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
