"""Group-based licensing in a real browser: bind a product to a group with too few seats, see
the members left without a seat, upload a license with more seats, watch the errors resolve."""

import pytest
from django.contrib.auth.models import Group

from tests.support.licenses import product
from wagtail_licensing import operations
from wagtail_licensing.models import GroupLicenseError, LicenseAssignment

pytestmark = pytest.mark.django_db(transaction=True)


def products(seats):
    return [
        product("cms-editor", "named", seats, name="CMS editor"),
        product("analytics", "named", None, name="Analytics"),
    ]


def test_bind_with_too_few_seats_then_upload_more(
    page, login, install, make_license, make_users, manager, tmp_path, screenshot
):
    install(user=manager, products=products(3))
    operations.grant([manager], ["cms-editor"], user=manager)  # 2 seats left
    writers = Group.objects.create(name="Writers")
    for user in make_users(5, prefix="writer"):  # the seating order: membership order
        writers.user_set.add(user)

    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/groups/")
    form = page.locator("[data-group-bind-form]")
    form.locator("select[name=group]").select_option(label="Writers")
    form.locator("select[name=product]").select_option(value="cms-editor")
    form.locator("input[name=priority]").fill("10")
    page.locator("[data-group-preview-button]").click()

    preview = page.locator("[data-group-preview]")
    preview.wait_for()
    text = preview.inner_text()
    assert "5 need a seat" in text and "2 seats are available" in text
    assert "3 members would be left without a seat" in text
    assert "writer2, writer3, writer4" in text
    assert not LicenseAssignment.objects.filter(user__username__startswith="writer").exists()
    screenshot("groups-preview")

    page.locator("[data-group-confirm]").click()
    page.wait_for_selector("[data-group-errors]")
    assert "3 members are left without a seat" in page.locator(".messages").inner_text()
    errors = page.locator("[data-group-errors] tbody tr")
    assert errors.count() == 3
    assert "Not enough seats" in errors.first.inner_text()
    page.reload()
    screenshot("groups-errors")

    # The License manager counts the problems; uploading more seats resolves them.
    page.goto(f"{page.base_url}/admin/licensing/")
    assert (
        "3 members of bound groups have no license"
        in page.locator("[data-group-problems]").inner_text()
    )
    license_file = tmp_path / "more-seats.lic"
    license_file.write_text(make_license(products=products(10)))
    page.goto(f"{page.base_url}/admin/licensing/upload/")
    page.set_input_files("input[name=license_file]", str(license_file))
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("button", name="Confirm and install").click()
    page.wait_for_url(f"{page.base_url}/admin/licensing/")
    assert page.locator("[data-group-problems]").count() == 0

    page.goto(f"{page.base_url}/admin/licensing/groups/")
    page.wait_for_selector("[data-no-group-errors]")
    assert "5" in page.locator("[data-binding='Writers:cms-editor']").inner_text()
    assert not GroupLicenseError.objects.exists()
    assert LicenseAssignment.objects.filter(user__username__startswith="writer").count() == 5
    screenshot("groups-resolved")
