"""Enforcement as people meet it, in a real browser: the "no license" page, managers' warnings
shown among Wagtail's messages, a refused login when every concurrent slot is taken."""

from datetime import timedelta

from tests.support.licenses import product, today
from wagtail_licensing import operations


def test_unlicensed_editor_is_kept_out_then_let_in(page, login, editor, manager, install,
                                                   screenshot):
    install()
    login("editor")
    heading = page.locator("h1")
    assert heading.inner_text() == "No license"
    text = page.locator("[data-wagtail-licensing-no-license]").inner_text()
    assert "has no license to use the admin" in text
    assert "Ask Morgan Manager for a license." in text
    screenshot("enforcement-no-license")

    operations.grant([editor], ["editor"])
    page.reload()
    assert page.locator("#wagtail-sidebar").count() == 1
    assert page.locator("h1").first.inner_text() != "No license"

    operations.recall([editor], ["editor"])
    page.reload()
    assert page.locator("h1").inner_text() == "No license"
    page.click("text=Sign out")
    page.wait_for_url("**/admin/login/**")


def test_manager_sees_warnings_among_wagtails_messages(page, login, manager, install,
                                                       screenshot):
    install(products=[
        product("editor", "named", 5, name="CMS editor",
                valid_until=today() + timedelta(days=12)),
        product("analytics", "named", None, name="Analytics"),
    ])
    operations.grant([manager], ["analytics"])
    login("manager")
    messages = page.locator(".messages li.warning")
    messages.first.wait_for()
    assert "CMS editor (editor) expires in 12 days" in messages.first.inner_text()
    page.wait_for_timeout(500)  # let the messages finish appearing
    screenshot("enforcement-banner")


def test_login_refused_when_every_concurrent_slot_is_taken(page, login, make_users,
                                                           editors_group, install, manager,
                                                           screenshot):
    install(products=[product("occasional", "concurrent", 1, name="Occasional editor")])
    first, second = make_users(2, prefix="occ", groups=[editors_group])
    for user in (first, second):
        user.set_password("pw")
        user.save()
    operations.grant([first, second], ["occasional"])
    operations.take_concurrent_slot(first, ["occasional"], token="first-browser")

    page.goto(f"{page.base_url}/admin/login/")
    page.fill("input[name=username]", second.username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    error = page.locator(".messages li.error")
    error.wait_for()
    assert "All 1 concurrent license of Occasional editor is in use" in error.inner_text()
    assert "/admin/login/" in page.url
    screenshot("enforcement-concurrent-refused")

    # A license manager sees who holds the slot, and releases it.
    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/sessions/")
    assert "Occasional editor (occasional): 1 of 1 slot in use." in page.content()
    page.wait_for_timeout(500)  # let the messages finish appearing
    screenshot("enforcement-sessions")
    page.click("text=Release")
    page.click("button:has-text('Release the slot')")
    page.locator(".messages li.success").wait_for()
    assert "0 of 1 slot in use" in page.content()

