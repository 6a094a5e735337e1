"""The License manager in a real browser: upload with preview, request, delete."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.licenses import product
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, LicensingState

pytestmark = pytest.mark.django_db(transaction=True)


def issued(**ago):
    # Real-looking issue times for the screenshots (the fixture's default is a counter).
    return (timezone.now() - timedelta(**ago)).replace(microsecond=0).isoformat()


def renewal_products():
    today = timezone.localdate()
    return [
        product("cms-editor", "named", 10, name="CMS editor"),
        product("analytics", "named", None, name="Analytics"),
        product("occasional", "concurrent", 3, name="Occasional editor"),
        product("customer-portal", "portal", 200, name="Customer portal",
                valid_until=today + timedelta(days=20)),
    ]


@pytest.fixture
def licensed_site(install, make_users, manager):
    """A site with a license in use: the manager is about to upload its renewal."""
    today = timezone.localdate()
    install(user=manager, issued_at=issued(days=30), products=[
        product("cms-editor", "named", 5, name="CMS editor"),
        product("occasional", "concurrent", 2, name="Occasional editor"),
        product("customer-portal", "portal", 100, name="Customer portal",
                valid_until=today + timedelta(days=20)),
        product("legacy-forms", "named", 3, name="Legacy forms"),
    ])
    editors = make_users(4, prefix="editor")
    portal = make_users(12, prefix="customer", portal=True)
    operations.grant([manager, *editors], ["cms-editor"], user=manager)
    operations.grant(editors[:2], ["occasional"], user=manager)
    operations.grant(portal, ["customer-portal"], user=manager)
    operations.grant(editors[:1], ["legacy-forms"], user=manager)


def open_action(page, label):
    actions = page.locator("[data-license-manager-actions]")
    actions.locator("button").first.click()
    actions.get_by_role("link", name=label).click()


def test_upload_preview_confirm(page, login, licensed_site, make_license, tmp_path, screenshot):
    license_file = tmp_path / "acme-renewal.lic"
    license_file.write_text(make_license(issued_at=issued(minutes=5),
                                         products=renewal_products()))

    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/")
    open_action(page, "Upload license file")
    page.set_input_files("input[name=license_file]", str(license_file))
    page.get_by_role("button", name="Upload and preview").click()

    preview = page.locator("[data-upload-preview]")
    preview.wait_for()
    assert preview.locator("[data-change=added]").count() == 1  # analytics
    assert preview.locator("[data-change=removed]").count() == 1  # legacy-forms
    assert preview.locator("[data-change=changed]").count() == 3
    assert "Legacy forms" in preview.locator("[data-warnings]").inner_text()
    screenshot("upload-preview")

    page.get_by_role("button", name="Confirm and install").click()
    page.wait_for_url(f"{page.base_url}/admin/licensing/")
    assert "installed" in page.locator(".messages").inner_text()
    table = page.locator("#listing-results table")
    rows = table.locator("tbody tr")
    assert rows.count() == 4
    editor_row = rows.filter(has_text="CMS editor")
    assert "10" in editor_row.inner_text()
    assert "5 of 10 seats used" in editor_row.inner_text()
    assert "expires in 20 days" in rows.filter(has_text="Customer portal").inner_text().lower()
    page.reload()  # the screenshot without the one-off messages
    screenshot("license-manager")


def test_request_download(page, login, manager, tmp_path):
    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/")
    open_action(page, "Request license")
    assert page.locator("input[name=company_id]").input_value() == "ACME"
    # Demo mode, no LICENSE_VERSION: the version of the site's product is asked for.
    assert page.locator("input[name=license_version]").input_value() == ""
    page.fill("input[name=license_version]", "1.0")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Generate and download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".tlr")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    data = json.loads(target.read_text())
    assert data["company_id"] == "ACME"
    assert data["instance_id"] == str(LicensingState.get().instance_id)


def test_request_after_an_error_confirms_the_download(page, login, manager, tmp_path):
    """Issue 12 item 7: a download after a refused submit leaves no stale error, and the page
    then says what was downloaded."""
    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/request/")
    page.get_by_role("button", name="Generate and download").click()
    page.get_by_text("This field is required").first.wait_for()
    page.fill("input[name=license_version]", "1.0")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Generate and download").click()
    filename = download_info.value.suggested_filename
    assert filename.endswith(".tlr")
    page.locator(".messages li.success").wait_for()
    assert f"The license request {filename} has been downloaded." in page.locator(
        ".messages").inner_text()
    assert page.get_by_text("This field is required").count() == 0
    assert page.url == f"{page.base_url}/admin/licensing/request/"


def test_delete_to_demo_mode(page, login, licensed_site):
    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/")
    open_action(page, "Delete licenses")
    page.get_by_role("button", name="Yes, delete licenses").click()
    page.wait_for_url(f"{page.base_url}/admin/licensing/")
    assert page.locator("[data-demo-mode]").is_visible()
    assert "Demo mode: no licenses installed." in page.locator("[data-demo-mode]").inner_text()
    assert LicensingState.get().demo_mode
    assert LicenseAssignment.objects.exists()  # kept for when a license comes back
