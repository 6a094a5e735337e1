"""Upload a license file in the admin: choose, preview, confirm or cancel; refusals in the form."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from wagtail import hooks

from tests.support.licenses import Vendor, product, today
from wagtail_licensing import operations
from wagtail_licensing.exceptions import LicenseRefused
from wagtail_licensing.models import LicenseFile, LicensingState, PendingUpload

UPLOAD = "/admin/licensing/upload/"


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def lic(text, name="acme.lic"):
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text,
                              content_type="application/octet-stream")


def upload(client, text, name="acme.lic"):
    return client.post(UPLOAD, {"license_file": lic(text, name)})


def preview_url(token):
    return reverse("wagtail_licensing:upload_preview", args=[token])


def snapshot():
    state = LicensingState.get()
    return state.installed_file_id, state.version, LicenseFile.objects.count()


def test_upload_form(manager_client):
    response = manager_client.get(UPLOAD)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'enctype="multipart/form-data"' in content
    assert 'name="license_file"' in content
    assert "csrfmiddlewaretoken" in content


def test_upload_preview_confirm(manager_client, manager, make_license):
    before = snapshot()
    response = upload(manager_client, make_license(license_id="LIC-NEW"))
    pending = PendingUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == preview_url(pending.token)
    assert pending.uploaded_by == manager and pending.filename == "acme.lic"
    assert snapshot() == before  # nothing installed yet

    response = manager_client.get(response["Location"])
    content = response.content.decode()
    assert response.status_code == 200
    assert "LIC-NEW" in content
    assert [row["kind"] for row in response.context["changes"]] == ["added"] * 4
    assert "Confirm and install" in content
    # The confirmation form carries only the token (and the CSRF token): never the file.
    form = content.split("data-confirm-form", 1)[1].split("</form>", 1)[0]
    assert 'name="token"' in form and str(pending.token) in form
    assert "license_file" not in form and "LICENSE" not in form

    response = manager_client.post(preview_url(pending.token),
                                   {"token": pending.token, "action": "confirm"}, follow=True)
    state = LicensingState.get()
    assert state.installed_file.license_id == "LIC-NEW"
    assert state.installed_file.installed_by == manager
    assert response.redirect_chain[-1][0] == reverse("wagtail_licensing:license_manager")
    assert "License file LIC-NEW installed." in response.content.decode()
    assert not PendingUpload.objects.exists()


def test_preview_shows_changes_and_warnings(manager_client, install, make_license, make_users,
                                            manager):
    install(products=[product("editor", "named", 5, name="CMS editor"),
                      product("legacy", "named", 2, name="Legacy")])
    operations.grant(make_users(4), ["editor"], user=manager)
    operations.grant(make_users(1, prefix="old"), ["legacy"], user=manager)
    upload(manager_client, make_license(products=[
        product("editor", "named", 2, name="CMS editor"),
        product("analytics", "named", None, name="Analytics"),
    ]))
    pending = PendingUpload.objects.get()
    response = manager_client.get(preview_url(pending.token))
    rows = {row["code"]: row for row in response.context["changes"]}
    assert rows["editor"]["kind"] == "changed"
    assert rows["editor"]["details"] == [{"label": "seats", "old": "5", "new": "2"}]
    assert rows["analytics"]["kind"] == "added" and rows["analytics"]["seats"] == "unlimited"
    assert rows["legacy"]["kind"] == "removed"
    content = response.content.decode()
    assert "it will be over-allocated" in content
    assert "Legacy (legacy) is not in the new file" in content


def test_cancel_changes_nothing(manager_client, installed, make_license):
    before = snapshot()
    upload(manager_client, make_license())
    pending = PendingUpload.objects.get()
    response = manager_client.post(preview_url(pending.token),
                                   {"token": pending.token, "action": "cancel"}, follow=True)
    assert snapshot() == before
    assert not PendingUpload.objects.exists()
    assert "cancelled. Nothing was changed." in response.content.decode()
    # The token is spent: confirming it later does nothing.
    response = manager_client.post(preview_url(pending.token),
                                   {"token": pending.token, "action": "confirm"})
    assert response["Location"] == UPLOAD
    assert snapshot() == before


@pytest.mark.parametrize("content,reason", [
    ("not a license at all", "license file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", "This is not a license file"),
])
def test_invalid_files_are_refused_in_the_form(manager_client, content, reason):
    before = snapshot()
    response = upload(manager_client, content)
    assert response.status_code == 200
    errors = response.context["form"].errors["license_file"]
    assert any(reason in error for error in errors)
    assert reason in response.content.decode()
    assert not PendingUpload.objects.exists()
    assert snapshot() == before


def test_tampered_file_is_refused(manager_client, make_license):
    text = make_license()
    lines = text.splitlines()
    body = max(range(len(lines)), key=lambda i: len(lines[i]))
    lines[body] = lines[body][:-8] + ("A" * 8 if not lines[body].endswith("A" * 8) else "B" * 8)
    response = upload(manager_client, "\n".join(lines) + "\n")
    assert response.status_code == 200
    assert response.context["form"].errors["license_file"]
    assert not PendingUpload.objects.exists()


def test_too_large_file_is_refused(manager_client):
    response = upload(manager_client, b"x" * (1024 * 1024 + 1))
    assert "a license file is at most" in response.content.decode()
    assert not PendingUpload.objects.exists()


@pytest.mark.parametrize("overrides,reason", [
    ({"company_id": "OTHER"}, "is for the company OTHER"),
    ({"instance_id": "00000000-0000-0000-0000-000000000000"}, "issued for another site"),
])
def test_rule_refusals_are_shown_in_the_form(manager_client, installed, make_license,
                                             overrides, reason):
    before = snapshot()
    response = upload(manager_client, make_license(**overrides))
    assert response.status_code == 200
    assert reason in " ".join(response.context["form"].errors["license_file"])
    assert reason in response.content.decode()
    assert snapshot() == before


def test_already_installed_is_refused(manager_client, installed):
    response = upload(manager_client, installed.content)
    assert "is already installed. Nothing was changed." in response.content.decode()


@pytest.mark.parametrize("error_class", [LicenseRefused, ValidationError])
def test_hook_refusal_at_confirm_is_shown_in_the_form(manager_client, make_license,
                                                      error_class):
    upload(manager_client, make_license())
    pending = PendingUpload.objects.get()
    before = snapshot()

    def refuse(user, preview):
        raise error_class("Our CRM says this contract was cancelled.")

    with hooks.register_temporarily(operations.BEFORE_LICENSE_FILE_INSTALL, refuse):
        response = manager_client.post(preview_url(pending.token),
                                       {"token": pending.token, "action": "confirm"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Our CRM says this contract was cancelled."]
    assert "Our CRM says this contract was cancelled." in response.content.decode()
    assert snapshot() == before
    assert PendingUpload.objects.filter(pk=pending.pk).exists()  # may still be cancelled


def test_refusal_arising_between_preview_and_confirm(manager_client, make_license, install):
    """Another manager installs a newer file meanwhile: confirming would be a downgrade."""
    upload(manager_client, make_license())
    pending = PendingUpload.objects.get()
    install()  # issued later
    before = snapshot()
    response = manager_client.post(preview_url(pending.token),
                                   {"token": pending.token, "action": "confirm"})
    assert response.status_code == 200
    assert "would be a downgrade" in " ".join(response.context["form"].non_field_errors())
    assert not response.context["can_confirm"]
    assert "Confirm and install" not in response.content.decode()
    assert snapshot() == before


def test_pending_upload_of_another_user_is_not_found(client, manager, superuser, make_license):
    pending = PendingUpload.store(kind=PendingUpload.Kind.LICENSE_FILE, user=superuser,
                                  filename="a.lic", content=make_license().encode())
    client.force_login(manager)
    response = client.get(preview_url(pending.token))
    assert response.status_code == 302 and response["Location"] == UPLOAD
    response = client.post(preview_url(pending.token), {"token": pending.token,
                                                        "action": "confirm"})
    assert response["Location"] == UPLOAD
    assert LicensingState.get().demo_mode
    assert PendingUpload.objects.filter(pk=pending.pk).exists()


def test_token_in_form_must_match_the_url(manager_client, manager, make_license):
    upload(manager_client, make_license())
    pending = PendingUpload.objects.get()
    other = PendingUpload.store(kind=PendingUpload.Kind.LICENSE_FILE, user=manager,
                                filename="b.lic", content=make_license().encode())
    response = manager_client.post(preview_url(pending.token),
                                   {"token": other.token, "action": "confirm"})
    assert response["Location"] == UPLOAD
    assert LicensingState.get().demo_mode


def test_csrf_is_enforced(manager, make_license):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(UPLOAD, {"license_file": lic(make_license())})
    assert response.status_code == 403
    assert not PendingUpload.objects.exists()

    pending = PendingUpload.store(kind=PendingUpload.Kind.LICENSE_FILE, user=manager,
                                  filename="a.lic", content=make_license().encode())
    response = client.post(preview_url(pending.token), {"token": pending.token,
                                                        "action": "confirm"})
    assert response.status_code == 403
    assert LicensingState.get().demo_mode

    # With the token from the form, the same POST goes through.
    client.get(preview_url(pending.token))
    token = client.cookies["csrftoken"].value
    response = client.post(preview_url(pending.token), {
        "token": pending.token, "action": "confirm", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert not LicensingState.get().demo_mode


def test_file_text_is_escaped_in_preview_and_messages(manager_client, make_license):
    xss = '<script>alert("x")</script>'
    upload(manager_client, make_license(license_id=f"LIC-{xss}", products=[
        product("editor", "named", 5, name=f"Editor {xss}")]), name=f"{xss}.lic")
    pending = PendingUpload.objects.get()
    content = manager_client.get(preview_url(pending.token)).content.decode()
    assert xss not in content and "&lt;script&gt;" in content
    response = manager_client.post(preview_url(pending.token),
                                   {"token": pending.token, "action": "confirm"}, follow=True)
    content = response.content.decode()
    assert "installed." in content
    assert xss not in content and "&lt;script&gt;" in content


def _expired_products():
    until = today() - timedelta(days=1)
    return [product("editor", "named", 5, valid_from=until - timedelta(days=30),
                    valid_until=until)]


@pytest.mark.parametrize("overrides,reason", [
    (lambda: {"issued_at": "2000-01-01T00:00:00Z"}, "would be a downgrade"),
    (lambda: {"products": _expired_products()}, "has already expired"),
], ids=["downgrade", "every-product-expired"])
def test_more_rule_refusals_are_shown_in_the_form(manager_client, installed, make_license,
                                                  overrides, reason):
    before = snapshot()
    response = upload(manager_client, make_license(**overrides()))
    assert response.status_code == 200
    assert reason in " ".join(response.context["form"].errors["license_file"])
    assert reason in response.content.decode()
    assert not PendingUpload.objects.exists()
    assert snapshot() == before


def test_unknown_key_and_foreign_signature_are_refused_in_the_form(manager_client, installed,
                                                                    make_payload):
    before = snapshot()
    response = upload(manager_client, Vendor(kid="other-vendor").sign(make_payload()))
    assert "signed with the key &#x27;other-vendor&#x27;, which this site does not know" in (
        response.content.decode())
    response = upload(manager_client, Vendor(kid=installed.kid).sign(make_payload()))
    assert "signature does not match its content" in response.content.decode()
    assert not PendingUpload.objects.exists()
    assert snapshot() == before


def test_a_vendor_header_in_another_encoding_is_accepted(manager_client, vendor, make_payload):
    # Text outside the markers is ignored by the format, whatever its encoding.
    text = vendor.sign(make_payload(license_id="LIC-LATIN1"))
    content = "Société Générale, licence annuelle\n".encode("latin-1") + text.encode()
    response = upload(manager_client, content)
    assert response.status_code == 302
    pending = PendingUpload.objects.get()
    manager_client.post(preview_url(pending.token), {"token": pending.token, "action": "confirm"})
    assert LicensingState.get().installed_file.license_id == "LIC-LATIN1"
