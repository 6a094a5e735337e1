"""Issue 12's screen defects, as the HTML shows them (the browser tests check how they look)."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from tests.support.licenses import product
from wagtail_licensing import operations


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def soup(response):
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def test_demo_callout_buttons_are_not_text_links(manager_client):
    """Wagtail styles every link in a .help-block as an underlined text link: the callout's
    buttons must not be inside one (item 3)."""
    page = soup(manager_client.get(reverse("wagtail_licensing:license_manager")))
    callout = page.select_one("[data-demo-mode]")
    buttons = callout.select("a.button")
    assert [b.get_text(strip=True) for b in buttons] == ["Upload license file", "Request license"]
    for button in buttons:
        assert not button.find_parents(class_="help-block")


@pytest.fixture
def site(install, make_users, manager):
    install(products=[product("editor", "named", 3, name="CMS editor")])
    holders = make_users(3, prefix="holder")
    operations.grant(holders, ["editor"], user=manager)
    return holders


@pytest.mark.parametrize("name", ["product", "product_grant"])
def test_selection_checkboxes_always_show(manager_client, site, make_users, name):
    """Item 6: the Add users and holders checkboxes, select-all included, carry the class that
    keeps them visible without hovering."""
    make_users(2, prefix="candidate")
    page = soup(manager_client.get(reverse(f"wagtail_licensing:{name}", args=["editor"])))
    boxes = page.select("input.bulk-action-checkbox")
    assert len(boxes) >= 3
    assert all("wl-checkbox" in box["class"] for box in boxes)
    assert page.select_one("th input.bulk-action-checkbox.wl-checkbox")  # select all


def test_disabled_grant_button_says_why(manager_client, site, make_users):
    make_users(1, prefix="candidate")
    page = soup(manager_client.get(reverse("wagtail_licensing:product_grant", args=["editor"])))
    button = page.select_one("[data-grant-selected]")
    assert button.has_attr("disabled")
    reason = page.select_one("#" + button["aria-describedby"])
    assert "All 3 seats of CMS editor are taken." in reason.get_text()
    # The reason sits beside the button, in the same footer.
    assert reason.parent is button.parent


def test_enabled_grant_button_has_no_reason(manager_client, install, make_users):
    install(products=[product("editor", "named", 3, name="CMS editor")])
    make_users(1, prefix="candidate")
    page = soup(manager_client.get(reverse("wagtail_licensing:product_grant", args=["editor"])))
    button = page.select_one("[data-grant-selected]")
    assert not button.has_attr("disabled") and not button.has_attr("aria-describedby")
    assert not page.select_one("[data-grant-disabled-reason]")


def test_user_licenses_page_has_top_spacing(manager_client, editor):
    """Item 13: the per-user Licenses page starts below the header, as every Wagtail page."""
    page = soup(manager_client.get(reverse("wagtail_licensing_users:user", args=[editor.pk])))
    body = page.select_one("[data-user-licenses]")
    assert "w-mt-8" in body["class"]
    assert body.select_one(".wl-user-summary")


def test_system_users_name_cell_keeps_the_menu_beside_the_name(manager_client, editor):
    """Item 13: the name cell carries the class that pins the row's "…" menu (users.css)."""
    page = soup(manager_client.get(reverse("wagtail_licensing_users:index")))
    cells = page.select("td.title.wl-user-name")
    assert cells and all(cell.select_one("ul.actions") for cell in cells)
