def test_manager_logs_in_to_the_admin(page, login, manager):
    login("manager")
    assert page.url.endswith("/admin/")
    assert page.locator("main").first.is_visible()
