"""The grant flow, an upload and an import with the keyboard alone (page.keyboard, no clicks):
issue 12's accessibility section."""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support.licenses import product
from wagtail_licensing.models import LicenseAssignment, LicensingState

pytestmark = pytest.mark.django_db(transaction=True)


def tab_to(page, selector, limit=150):
    """Press Tab until ``selector`` has the focus (as a keyboard user does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "s => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def choose_file(page, selector, path):
    """Focus a file input with Tab and open its chooser with Enter (or Space: the keys a
    keyboard user tries; headless Chromium sometimes ignores the first)."""
    page.wait_for_load_state("load")
    focused = "s => !!document.activeElement && document.activeElement.matches(s)"
    for key in ("Enter", "Space", "Enter", "Space"):
        if not page.evaluate(focused, selector):  # a busy machine: focus it again
            tab_to(page, selector)
        try:
            with page.expect_file_chooser(timeout=6000) as chooser:
                page.keyboard.press(key)
        except PlaywrightTimeoutError:
            continue
        chooser.value.set_files(str(path))
        return
    raise AssertionError(f"the keyboard never opened the chooser of {selector}")


def test_grant_upload_and_import_with_the_keyboard(
    page, login, install, make_users, manager, make_license, tmp_path
):
    install(
        products=[
            product("editor", "named", 5, name="CMS editor"),
            product("analytics", "named", None, name="Analytics"),
        ]
    )
    users = make_users(3, prefix="kb")
    login("manager")

    # Grant CMS editor to kb1 from the product's Add users list.
    page.goto(f"{page.base_url}/admin/licensing/products/editor/grant/")
    tab_to(page, f"input.bulk-action-checkbox[value='{users[1].pk}']")
    page.keyboard.press("Space")
    tab_to(page, "[data-grant-selected]")
    page.keyboard.press("Enter")
    page.locator(".messages li.success").wait_for()
    assert set(LicenseAssignment.objects.values_list("user__username", "product_code")) == {
        ("kb1", "editor")
    }

    # Upload a renewal: choose the file, preview, confirm.
    renewal = tmp_path / "renewal.lic"
    renewal.write_text(
        make_license(
            license_id="LIC-KEYS",
            products=[
                product("editor", "named", 8, name="CMS editor"),
                product("analytics", "named", None, name="Analytics"),
            ],
        )
    )
    page.goto(f"{page.base_url}/admin/licensing/upload/")
    choose_file(page, "input[name=license_file]", renewal)
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-upload-preview]")
    tab_to(page, "button[value=confirm]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{page.base_url}/admin/licensing/")
    assert LicensingState.get().installed_file.license_id == "LIC-KEYS"

    # Import a CSV: choose it, preview, confirm.
    csv = tmp_path / "grants.csv"
    csv.write_text("Username,Product code,Action\r\nkb0,analytics,grant\r\nkb2,editor,grant\r\n")
    page.goto(f"{page.base_url}/admin/licensing/assignments/import/")
    choose_file(page, "input[name=file]", csv)
    tab_to(page, "[data-import-form] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-import-products]")
    tab_to(page, "button[value=confirm]")
    page.keyboard.press("Enter")
    page.locator(".messages li.success").wait_for()
    assert set(LicenseAssignment.objects.values_list("user__username", "product_code")) == {
        ("kb1", "editor"),
        ("kb0", "analytics"),
        ("kb2", "editor"),
    }
