"""Usage history in a real browser: a product's chart, the License usage report, and the
reclaim flow (System users' "Idle for N days" filter, then Recall idle seats)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.support.licenses import DEFAULT_PRODUCTS, product, today
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, UsageSnapshot

pytestmark = pytest.mark.django_db(transaction=True)


def set_last_active(users, code, days_ago):
    LicenseAssignment.objects.filter(user__in=users, product_code=code).update(
        last_active_on=today() - timedelta(days=days_ago)
    )


def used_on(day, n):
    """Seats used ``n`` days ago: growing over the months, lower at weekends."""
    return max(1, round(7 - n / 40) - (2 if day.weekday() >= 5 else 0))


@pytest.fixture
def usage(install, manager, make_users, settings):
    """Three holders idle on the CMS editor (10 seats) for 90 days, one busy, and the manager,
    all granted 150 days ago; 200 days of history (8 seats until 120 days ago, then 10)."""
    settings.WAGTAIL_GRAVATAR_PROVIDER_URL = None  # offline: Wagtail's default avatar
    install(products=[product("editor", "named", 10, name="CMS editor"), *DEFAULT_PRODUCTS[1:]])
    idle = make_users(3, prefix="idle")
    busy = make_users(1, prefix="busy")
    operations.grant([manager], ["editor"])
    operations.grant(idle + busy, ["editor", "analytics"])
    LicenseAssignment.objects.update(granted_at=timezone.now() - timedelta(days=150))
    set_last_active(idle, "editor", 90)
    set_last_active([manager, *busy], "editor", 1)
    set_last_active(idle + busy, "analytics", 2)
    days = [(n, today() - timedelta(days=n)) for n in range(1, 200)]
    UsageSnapshot.objects.bulk_create(
        UsageSnapshot(
            product_code="editor",
            day=day,
            seats=10 if n < 120 else 8,
            used=used_on(day, n),
            holders=used_on(day, n) + 1,
            active_holders_30d=used_on(day, n),
        )
        for n, day in days
    )
    return idle, busy


def test_usage_chart_ranges_and_data_table(page, login, usage, screenshot):
    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/products/editor/")
    chart = page.locator("[data-usage-chart]")
    svg = chart.locator("svg[data-usage-svg]")
    expect(svg).to_be_visible()
    expect(svg.locator("polyline[data-series=used]")).to_have_count(1)
    assert svg.bounding_box()["width"] > 300  # drawn, not collapsed
    expect(chart.get_by_role("link", name="Last 90 days")).to_have_attribute("aria-current", "true")
    screenshot("usage-chart")

    # The data table opens from the keyboard and carries the numbers drawn.
    table = chart.locator("[data-usage-table] table")
    expect(table).to_be_hidden()
    chart.locator("[data-usage-table] summary").focus()
    page.keyboard.press("Enter")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(89)  # days 1 to 89 ago: today not taken
    expect(table.get_by_role("columnheader", name="Seats used")).to_be_visible()
    first = table.locator("tbody tr").first
    expect(first.locator("td").nth(0)).to_have_text("10")

    chart.get_by_role("link", name="Last year").click()
    page.wait_for_url(re.compile(r"usage=365"))
    chart = page.locator("[data-usage-chart]")
    expect(chart.get_by_role("link", name="Last year")).to_have_attribute("aria-current", "true")
    chart.locator("[data-usage-table] summary").focus()
    page.keyboard.press("Enter")
    expect(chart.locator("[data-usage-table] tbody tr")).to_have_count(199)


def test_license_usage_report_filters_and_exports(page, login, usage, screenshot):
    login("manager")
    page.goto(f"{page.base_url}/admin/reports/license-usage/")
    main = page.locator("main")
    expect(page.get_by_role("heading", name="License usage").first).to_be_visible()
    expect(main).to_contain_text("Seats not used for 60 days")
    results = main.locator("table.listing").last
    for name in ["idle0", "idle1", "idle2"]:
        expect(results).to_contain_text(name)
    expect(results).not_to_contain_text("busy0")
    screenshot("usage-report")

    # A wider window: nobody has been idle for a year.
    page.get_by_role("button", name="Show filters").click()
    page.get_by_role("button", name=re.compile("^Not used for")).click()
    page.get_by_label("Idle for 365 days").check()
    expect(main).to_contain_text("Seats not used for 365 days")
    expect(main).to_contain_text("No holder is idle")
    page.get_by_label("Idle for 60 days").check()
    expect(main).to_contain_text("Seats not used for 60 days")
    expect(main.locator("table.listing").last).to_contain_text("idle2")

    # The export: a CSV of the three idle holders.
    page.goto(f"{page.base_url}/admin/reports/license-usage/")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Actions").click()
        page.get_by_role("link", name=re.compile("CSV")).click()
    content = open(download_info.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    assert content.splitlines()[0].startswith("Username,E-mail")
    assert sorted(line.split(",")[0] for line in content.splitlines()[1:]) == [
        "idle0",
        "idle1",
        "idle2",
    ]


def test_reclaim_flow_from_system_users(page, login, usage, screenshot):
    idle, busy = usage
    login("manager")
    page.goto(f"{page.base_url}/admin/licensing/users/?idle=60")
    listing = page.locator("main table").first
    for user in idle:
        expect(listing).to_contain_text(user.username)
    expect(listing).not_to_contain_text("busy0")

    # Select everybody listed, then Recall idle seats: the preview names who loses what.
    page.locator("[data-bulk-action-select-all-checkbox]").first.check()
    footer = page.locator("[data-bulk-action-footer]")
    expect(footer).to_be_visible()
    # Its accessible name is the action's aria-label.
    footer.get_by_role("link", name="Recall the seats the selected users have not used").click()
    expect(page.get_by_role("heading", name="Recall idle seats")).to_be_visible()
    preview = page.locator(".wl-idle-preview")
    expect(preview).to_have_count(1)
    expect(preview).to_contain_text("CMS editor")
    expect(preview).to_contain_text("3 idle holders; 3 seats would be freed.")
    for user in idle:
        expect(preview).to_contain_text(user.username)
    screenshot("recall-idle-seats")

    page.get_by_role("checkbox", name=re.compile("^CMS editor")).check()
    page.get_by_role("button", name="Recall idle seats").click()
    messages = page.locator(".messages")
    expect(messages).to_contain_text(
        "Recalled CMS editor (editor) from 3 users: idle0, idle1 and idle2."
    )
    left = set(LicenseAssignment.objects.values_list("user__username", "product_code"))
    assert not any((u.username, "editor") in left for u in idle)
    assert all((u.username, "analytics") in left for u in idle)  # used lately: kept
    assert all((u.username, "editor") in left for u in busy)
