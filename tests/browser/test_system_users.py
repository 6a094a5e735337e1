"""System users in a real browser: bulk Grant licenses from the listing, then the Licenses tab."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.support.licenses import product
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()

PEOPLE = [
    ("ada", "Ada", "Lovelace"), ("alan", "Alan", "Turing"), ("grace", "Grace", "Hopper"),
    ("edsger", "Edsger", "Dijkstra"), ("barbara", "Barbara", "Liskov"),
    ("donald", "Donald", "Knuth"), ("margaret", "Margaret", "Hamilton"),
]


@pytest.fixture
def office(install, manager, superuser, make_users):
    """A company with a license in use: some editors licensed, an intern inactive, customers."""
    install(user=manager, products=[
        product("cms-editor", "named", 8, name="CMS editor"),
        product("analytics", "named", None, name="Analytics"),
        product("occasional", "concurrent", 3, name="Occasional editor"),
        product("customer-portal", "portal", 50, name="Customer portal"),
    ])
    writers, reviewers = Group.objects.create(name="Writers"), Group.objects.create(
        name="Reviewers")
    people = {}
    for username, first, last in PEOPLE:
        people[username] = User.objects.create_user(
            username, f"{username}@example.com", "pw", first_name=first, last_name=last)
    writers.user_set.add(people["ada"], people["alan"], people["grace"], people["edsger"])
    reviewers.user_set.add(people["barbara"], people["donald"])
    customers = make_users(3, prefix="customer", portal=True)
    # The manager and the superuser hold a license too: enforcement opens Settings > Users.
    operations.grant([manager, superuser, people["barbara"], people["donald"]], ["cms-editor"])
    operations.grant([manager, superuser, people["barbara"]], ["analytics"])
    operations.grant(customers, ["customer-portal"])
    operations.grant([people["margaret"]], ["analytics"])
    people["margaret"].is_active = False  # she left: her license uses no seat
    people["margaret"].save()
    return people


def checkbox(page, name):
    """A product's checkbox by the start of its accessible name (the label's text)."""
    return page.get_by_role("checkbox", name=re.compile("^" + re.escape(name)))


def seats_used(code):
    return LicenseAssignment.objects.filter(product_code=code, has_seat=True,
                                            user__is_active=True).count()


def test_bulk_grant_then_licenses_tab(page, login, office, screenshot, settings):
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None  # offline: Wagtail's default avatar
    login("admin")
    page.goto(f"{page.base_url}/admin/licensing/users/?type=employee&ordering=name")
    expect(page.get_by_role("heading", name="System users")).to_be_visible()

    # Select Ada, Alan and Grace, then Grant licenses.
    for username in ["ada", "alan", "grace"]:
        row = page.locator("tr", has_text=f"{username}@example.com")
        row.locator("input[data-bulk-action-checkbox]").check()
    footer = page.locator("[data-bulk-action-footer]")
    expect(footer).to_be_visible()
    footer.get_by_role("link", name="Grant licenses").click()

    expect(page.get_by_role("heading", name="Grant licenses")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Ada Lovelace")
    expect(page.locator("main")).to_contain_text("4 of 8 available")
    expect(page.locator("main")).to_contain_text("Unlimited")
    checkbox(page, "CMS editor (cms-editor)").check()
    screenshot("grant-licenses")
    page.get_by_role("button", name="Grant licenses").click()

    # Back on the listing: the message and the tags.
    expect(page.locator(".messages")).to_contain_text(
        "Granted CMS editor (cms-editor) to 3 users: ada, alan and grace.")
    for username in ["ada", "alan", "grace"]:
        row = page.locator("tr", has_text=f"{username}@example.com")
        expect(row.locator(".wl-license-tags")).to_contain_text("CMS editor")
    assert seats_used("cms-editor") == 7
    page.goto(f"{page.base_url}/admin/licensing/users/?type=employee&ordering=name")
    expect(page.locator("tr", has_text="margaret@example.com")).to_contain_text("(no seat)")
    for username in ["barbara", "donald"]:
        page.locator("tr", has_text=f"{username}@example.com").locator(
            "input[data-bulk-action-checkbox]").check()
    expect(footer.get_by_role("link", name="Recall licenses")).to_be_visible()
    screenshot("system-users")
    for username in ["barbara", "donald"]:
        page.locator("tr", has_text=f"{username}@example.com").locator(
            "input[data-bulk-action-checkbox]").uncheck()

    # Ada's Licenses tab on her Settings > Users page: untick CMS editor and save.
    page.locator("tr", has_text="ada@example.com").get_by_role(
        "link", name="Ada Lovelace").click()
    expect(page.get_by_role("button", name="Save licenses")).to_be_visible()
    page.get_by_role("link", name="Edit user").click()
    page.get_by_role("tab", name="Licenses").click()
    box = checkbox(page, "CMS editor (cms-editor)")
    expect(box).to_be_checked()
    expect(page.locator("#tab-licenses")).to_contain_text("1 of 8 available")
    # The portal product is not for employees: its box is disabled, with the reason.
    expect(checkbox(page, "Customer portal")).to_be_disabled()
    expect(page.locator("#tab-licenses")).to_contain_text(
        "Only portal users can hold this product.")
    page.get_by_role("button", name="Select all").click()
    expect(checkbox(page, "Analytics")).to_be_checked()
    page.get_by_role("button", name="Clear all").click()
    expect(checkbox(page, "Analytics")).not_to_be_checked()
    box.check()
    box.uncheck()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messages")).to_contain_text(
        "Recalled CMS editor (cms-editor) from 1 user: ada.")
    assert seats_used("cms-editor") == 6
    # The seat is free again: the tab shows it.
    page.goto(f"{page.base_url}/admin/licensing/users/{office['ada'].pk}/")
    expect(page.locator("main")).to_contain_text("2 of 8 available")
    expect(checkbox(page, "CMS editor (cms-editor)")).not_to_be_checked()
