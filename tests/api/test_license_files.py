"""License files through the API: preview (dry run) and confirm, install at once, delete, and the
license request download; the admin's bounds and refusals, through the same actions."""

import base64
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from wagtail import hooks
from wagtail.models import ModelLogEntry

from tests.api.conftest import url
from wagtail_licensing import operations
from wagtail_licensing.exceptions import LicenseRefused
from wagtail_licensing.license_file import BEGIN_MARKER, END_MARKER
from wagtail_licensing.models import LicenseFile, LicensingState, PendingUpload

pytestmark = pytest.mark.django_db


def snapshot():
    state = LicensingState.get()
    return state.installed_file_id, state.version, LicenseFile.objects.count()


def multipart(client, name, content, filename="acme.lic"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        url(name), {"license_file": SimpleUploadedFile(filename, data)}, format="multipart"
    )


def raw(client, name, content, content_type="application/octet-stream", **extra):
    data = content.encode() if isinstance(content, str) else content
    return client.generic("POST", url(name), data, content_type=content_type, **extra)


def test_preview_then_confirm(manager_api, manager, installed, make_license):
    before = snapshot()
    text = make_license(
        products=[
            {
                "code": "editor",
                "name": "CMS editor",
                "type": "named",
                "seats": 9,
                "valid_from": "2020-01-01",
                "valid_until": "2099-12-31",
            }
        ]
    )
    response = multipart(manager_api, "license-file/preview/", text)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert snapshot() == before  # a dry run
    assert data["replaces"] == installed.license_id
    assert data["filename"] == "acme.lic"
    changes = {c["code"]: c for c in data["changes"]}
    assert changes["editor"]["change"] == "changed"
    assert {d["field"]: (d["old"], d["new"]) for d in changes["editor"]["details"]}["seats"] == (
        5,
        9,
    )
    assert changes["analytics"]["change"] == "removed"
    assert data["has_changes"] is True
    pending = PendingUpload.objects.get()
    assert data["token"] == str(pending.token) and pending.uploaded_by == manager

    response = manager_api.post(
        url("license-file/confirm/"), {"token": data["token"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    done = response.json()
    now_installed = LicensingState.get_with_installed_file().installed_file
    assert now_installed.license_id != installed.license_id
    assert done["installed_file"]["license_id"] == now_installed.license_id
    assert done["messages"][0]["text"] == f"License file {now_installed.license_id} installed."
    assert not PendingUpload.objects.exists()
    entry = ModelLogEntry.objects.filter(action=operations.ACTION_UPLOAD).latest("pk")
    assert entry.user_id == manager.pk
    # The token is spent.
    again = manager_api.post(url("license-file/confirm/"), {"token": data["token"]}, format="json")
    assert again.status_code == 404
    assert "no longer waiting for confirmation" in again.json()["detail"]


def test_raw_body_upload_installs_at_once(manager_api, make_license):
    response = raw(manager_api, "license-file/?filename=mine.lic", make_license())
    assert response.status_code == 200, response.json()
    assert response.json()["replaces"] is None
    state = LicensingState.get_with_installed_file()
    assert state.installed_file.license_id == response.json()["installed_file"]["license_id"]
    response = raw(manager_api, "license-file/preview/", make_license(), "text/plain")
    assert response.status_code == 200


def test_the_file_name_is_kept_safe(manager_api, make_license):
    response = raw(manager_api, "license-file/preview/?filename=../x%00y%22.lic", make_license())
    assert response.status_code == 200
    assert response.json()["filename"] == PendingUpload.objects.get().filename == "x_y_.lic"


def test_a_confirm_is_for_the_uploader_only(api, manager, superuser, make_license):
    api.force_login(manager)
    token = multipart(api, "license-file/preview/", make_license()).json()["token"]
    api.force_login(superuser)
    response = api.post(url("license-file/confirm/"), {"token": token}, format="json")
    assert response.status_code == 404
    assert "uploaded by another license manager" in response.json()["detail"]
    assert LicensingState.get().installed_file_id is None


@pytest.mark.parametrize("body", [{}, {"token": "nope"}, {"token": [1]}])
def test_confirm_needs_a_token(manager_api, body):
    response = manager_api.post(url("license-file/confirm/"), body, format="json")
    assert response.status_code == 400
    assert "token" in response.json()["errors"]


@pytest.mark.parametrize(
    "content, reason",
    [
        ("not a license at all", "license file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", "This is not a license file"),
    ],
)
def test_invalid_files_are_400_for_the_field(manager_api, content, reason):
    for name in ("license-file/preview/", "license-file/"):
        response = multipart(manager_api, name, content)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert reason in " ".join(response.json()["errors"]["license_file"])
    assert not PendingUpload.objects.exists()


def test_too_large_files_are_refused_without_reading_them(manager_api):
    big = b"x" * (1024 * 1024 + 1)
    for response in (
        multipart(manager_api, "license-file/preview/", big),
        raw(manager_api, "license-file/preview/", big),
    ):
        assert response.status_code == 400
        message = " ".join(response.json()["errors"]["license_file"])
        assert "a license file is at most 1.0" in message and "This file is 1.0" in message
    assert not PendingUpload.objects.exists()


def test_no_file_and_other_media_types(manager_api):
    response = manager_api.post(url("license-file/preview/"), {}, format="multipart")
    assert response.status_code == 400 and "license_file" in response.json()["errors"]
    response = manager_api.post(url("license-file/"), {"x": 1}, format="json")
    assert response.status_code == 415
    assert response.json()["type"].endswith("unsupported-media-type")


def test_deeply_nested_content_is_refused_not_a_500(manager_api):
    block = base64.b64encode(b"[" * 200_000 + b"]" * 200_000).decode()
    text = f"{BEGIN_MARKER}\n{block}\n{END_MARKER}\n"
    response = raw(manager_api, "license-file/preview/", text)
    assert response.status_code == 400
    assert "its content is not readable" in " ".join(response.json()["errors"]["license_file"])


@pytest.mark.parametrize(
    "overrides, kind, reason",
    [
        ({"company_id": "OTHER"}, "license-refused", "is for the company OTHER"),
        (
            {"instance_id": "00000000-0000-0000-0000-000000000000"},
            "license-refused",
            "issued for another site",
        ),
    ],
)
def test_rule_refusals_are_409(manager_api, installed, make_license, overrides, kind, reason):
    before = snapshot()
    response = multipart(manager_api, "license-file/preview/", make_license(**overrides))
    assert response.status_code == 409
    assert response.json()["type"].endswith(kind)
    assert reason in response.json()["detail"]
    assert snapshot() == before


def test_already_installed_is_409(manager_api, installed):
    response = multipart(manager_api, "license-file/", installed.content)
    assert response.status_code == 409
    assert response.json()["type"].endswith("already-installed")
    assert "is already installed. Nothing was changed." in response.json()["detail"]


@pytest.mark.parametrize("error_class", [LicenseRefused, ValidationError])
def test_a_hook_refusal_at_confirm_is_409_and_keeps_the_file(
    manager_api, make_license, error_class
):
    token = multipart(manager_api, "license-file/preview/", make_license()).json()["token"]

    def refuse(user, preview):
        raise error_class("Our CRM says this contract was cancelled.")

    with hooks.register_temporarily(operations.BEFORE_LICENSE_FILE_INSTALL, refuse):
        response = manager_api.post(url("license-file/confirm/"), {"token": token}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "Our CRM says this contract was cancelled."
    assert LicensingState.get().installed_file_id is None
    assert PendingUpload.objects.filter(token=token).exists()


def test_delete(manager_api, manager, installed):
    response = manager_api.delete(url("license-file/"))
    assert response.status_code == 200
    data = response.json()
    assert data["deleted"]["license_id"] == installed.license_id and data["demo_mode"]
    assert LicensingState.get().installed_file_id is None
    assert ModelLogEntry.objects.get(action=operations.ACTION_DELETE).user_id == manager.pk
    again = manager_api.delete(url("license-file/"))
    assert again.status_code == 409
    assert "nothing to delete" in again.json()["detail"]


def test_license_request_download(manager_api, manager, installed):
    seen = []
    with hooks.register_temporarily(
        operations.AFTER_LICENSE_REQUEST_CREATED,
        lambda user, request: seen.append(request.filename),
    ):
        response = manager_api.post(
            url("license-request/"), {"license_version": "2.0"}, format="json"
        )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Disposition"].endswith('.tlr"')
    data = json.loads(response.content)
    assert data["type"] == "wagtail-licensing/license-request"
    assert data["company_id"] == "ACME" and data["license_version"] == "2.0"
    assert data["generated_by"] == "manager"
    assert data["installed_license_id"] == installed.license_id
    assert (
        seen and ModelLogEntry.objects.get(action=operations.ACTION_REQUEST).user_id == manager.pk
    )


def test_license_request_needs_a_company(manager_api, settings):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "COMPANY_ID": ""}
    response = manager_api.post(url("license-request/"), {}, format="json")
    assert response.status_code == 400
    assert "company ID" in " ".join(response.json()["errors"]["company_id"])
