"""Import and export of assignments in a real browser, as a license manager does it: export,
edit the file, import it with a preview, confirm."""

import pytest

from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment

pytestmark = pytest.mark.django_db(transaction=True)


def holdings():
    return set(LicenseAssignment.objects.values_list("user__username", "product_code"))


def open_action(page, label):
    actions = page.locator("[data-license-manager-actions]")
    actions.locator("button").first.click()
    actions.get_by_role("link", name=label).click()


def test_export_edit_import_confirm(page, login, installed, make_users, manager, tmp_path,
                                    screenshot):
    users = make_users(6)
    make_users(1, prefix="portal", portal=True)
    operations.grant(users[:3], ["editor"], user=manager)

    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/")
    open_action(page, "Export assignments")
    with page.expect_download() as download:
        page.locator("[data-format=csv]").click()
    exported = tmp_path / "export.csv"
    download.value.save_as(exported)
    text = exported.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Username,E-mail,Full name")

    # Edit it as a spreadsheet user would: recall one, grant two, plus a mistake.
    lines = text.splitlines()
    lines[0] += ",Action"
    lines[1] += ",recall"
    lines += ["user3,,,,,editor,,,,,,", "user4,,,,,analytics,,,,,,grant",
              "portal0,,,,,editor,,,,,,"]
    edited = tmp_path / "edited.csv"
    edited.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")

    page.goto(f"{page.base_url}/admin/licensing/")
    open_action(page, "Import assignments")
    page.set_input_files("input[name=file]", str(edited))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_selector("[data-import-preview]")
    errors = page.locator("[data-import-errors] tbody tr")
    assert errors.count() == 1
    assert "The user portal0 is a portal user" in errors.first.inner_text()
    assert errors.first.locator("td").first.inner_text() == "7"
    assert page.get_by_role("button", name="Confirm and import").count() == 0
    page.wait_for_load_state("networkidle")
    screenshot("import-errors")
    assert holdings() == {("user0", "editor"), ("user1", "editor"), ("user2", "editor")}

    # Fix the file and upload it again.
    edited.write_text("\r\n".join(lines[:-1]) + "\r\n", encoding="utf-8-sig")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_selector("[data-import-form]")
    page.set_input_files("input[name=file]", str(edited))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_selector("[data-import-products]")
    editor_row = page.locator("[data-import-products] tr[data-product=editor]")
    assert editor_row.locator("[data-to-grant]").inner_text().startswith("1")
    assert editor_row.locator("[data-to-recall]").inner_text().startswith("1")
    assert editor_row.locator("[data-unchanged]").inner_text() == "2"
    page.wait_for_load_state("networkidle")
    screenshot("import-preview")
    page.get_by_role("button", name="Confirm and import").click()
    page.wait_for_selector(".messages")
    assert "2 granted, 1 recalled, 2 unchanged" in page.locator(".messages").inner_text()
    assert holdings() == {("user1", "editor"), ("user2", "editor"), ("user3", "editor"),
                          ("user4", "analytics")}
