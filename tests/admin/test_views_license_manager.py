"""The License manager overview, its Actions menu, the dashboard panel, escaping and queries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from wagtail import hooks
from wagtail.admin.widgets.button import Button

from tests.support.enforcement import hide_banner_alerts
from tests.support.licenses import product, today
from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.models import LicensingState
from wagtail_licensing.panels import LicensingSummaryPanel

URL = "/admin/licensing/"
XSS = '<script>alert("x")</script>'


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def page_queries(client, url):
    client.get(url)  # warm caches (license state version, sessions)
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_url_is_admin_licensing():
    assert reverse("wagtail_licensing:license_manager") == URL


def test_demo_mode(manager_client, state):
    response = manager_client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Demo mode: no licenses installed." in content
    assert "ACME" in content  # company ID from the setting
    assert str(state.instance_id) in content
    assert response.context["demo_mode"]
    assert 'id="listing-results"' not in content  # no products table
    assert reverse("wagtail_licensing:delete") not in content  # nothing to delete


def test_overview_shows_license_and_products(manager_client, install, manager, make_users):
    license_file = install(user=manager, products=[
        product("editor", "named", 5, name="CMS editor"),
        product("analytics", "named", None, name="Analytics"),
        product("occasional", "concurrent", 2, name="Occasional editor"),
        product("portal", "portal", 3, name="Customer portal",
                valid_until=today() + timedelta(days=10)),
        product("old", "named", 3, name="Old product", valid_until=today() - timedelta(days=1)),
        product("soon", "named", 3, name="Future product",
                valid_from=today() + timedelta(days=3)),
    ])
    operations.grant(make_users(2), ["editor", "analytics"], user=manager)
    response = manager_client.get(URL)
    content = response.content.decode()
    assert "Demo mode" not in content
    for text in (license_file.license_id, "ACME", "1.0", "Morgan Manager",
                 str(LicensingState.get().instance_id), "Copy instance ID"):
        assert text in content
    rows = {p.code: p for p in response.context["object_list"]}
    assert set(rows) == {"editor", "analytics", "occasional", "portal", "old", "soon"}
    assert rows["editor"].in_use == 2 and rows["editor"].available == 3
    table = response.context["table"]
    html = table.render_html({"request": response.wsgi_request})
    assert "2 of 5 seats used" in html
    assert "Unlimited" in html and "2 seats used, unlimited" in html
    assert "0 of 2 sessions in use" in html
    assert "Expires in 10 days" in html
    assert "Expired" in html and "Not yet valid" in html and "Active" in html
    assert reverse("wagtail_licensing:product", args=["editor"]) in html
    # The Actions dropdown: Request, Upload, History and Delete.
    for name in ("request", "upload", "history", "delete"):
        assert reverse(f"wagtail_licensing:{name}") in content
    assert "data-license-manager-actions" in content


def test_over_allocated_product(manager_client, install, make_users, manager):
    install(products=[product("editor", "named", 5)])
    operations.grant(make_users(5), ["editor"], user=manager)
    install(products=[product("editor", "named", 2)])
    response = manager_client.get(URL)
    html = response.context["table"].render_html({"request": response.wsgi_request})
    assert "Over-allocated" in html
    assert "wl-status--critical" in html


def test_over_allocated_product_shows_holders_and_seats(manager_client, install, make_users,
                                                        manager):
    """Issue 12 item 15: "Used 2 / Available 0" hid that 5 users hold it."""
    install(products=[product("editor", "named", 5)])
    operations.grant(make_users(5), ["editor"], user=manager)
    install(products=[product("editor", "named", 2)])
    response = manager_client.get(URL)
    html = response.context["table"].render_html({"request": response.wsgi_request})
    assert ">Holders<" in html.replace("\n", "").replace("  ", "")
    assert "5 active holders for 2 seats: 3 without a seat" in html
    row = {p.code: p for p in response.context["object_list"]}["editor"]
    assert (row.seats, row.in_use, row.active_holders) == (2, 2, 5)


def test_assignments_of_products_not_installed_are_listed(manager_client, install, make_users,
                                                          manager):
    install(products=[product("editor"), product("legacy")])
    operations.grant(make_users(2), ["legacy"], user=manager)
    install(products=[product("editor")])
    content = manager_client.get(URL).content.decode()
    assert "Licenses held without an installed product" in content
    assert reverse("wagtail_licensing:product", args=["legacy"]) in content


def test_demo_mode_says_kept_assignments_come_back(manager_client, install, make_users, manager):
    """Issue 12 item 10: after Delete licenses nothing asks to recall what the delete page kept."""
    install(products=[product("editor")])
    operations.grant(make_users(2), ["editor"], user=manager)
    operations.delete_licenses()
    content = manager_client.get(URL).content.decode()
    assert "Licenses kept while no license is installed" in content
    assert "The site runs in demo mode" in content
    assert "Recall them if they are no longer needed" not in content
    assert "Licenses held without an installed product" not in content


def test_optional_links_only_when_the_screen_exists():
    from wagtail_licensing.views.license_manager import optional_url

    assert optional_url("no_such:screen") is None
    assert optional_url("no_such:screen", "wagtail_licensing:history") == (
        "/admin/licensing/history/")


def test_actions_hook_adds_entries(manager_client, installed):
    def export_action(request):
        return Button("Export assignments", url="/admin/licensing/export-test/", priority=50)

    with hooks.register_temporarily("register_license_manager_action", export_action):
        content = manager_client.get(URL).content.decode()
    assert "Export assignments" in content
    assert "/admin/licensing/export-test/" in content
    # Ordered by priority: the built-in actions come first.
    assert content.index("Request license") < content.index("Export assignments")


def test_license_file_text_is_escaped(manager_client, install, manager, make_users):
    install(user=manager, license_id=f"LIC-{XSS}", products=[
        product("editor", "named", 5, name=f"Editor {XSS}"),
        product("portal", "portal", 5, name=f"Portal {XSS}"),
    ])
    operations.grant([manager, *make_users(1)], ["editor"], user=manager)  # may use the admin
    pages = [URL, reverse("wagtail_licensing:product", args=["editor"]),
             reverse("wagtail_licensing:product_grant", args=["editor"]),
             reverse("wagtail_licensing:history"), reverse("wagtail_licensing:activity"),
             reverse("wagtail_licensing:delete"), reverse("wagtailadmin_home")]
    for url in pages:
        content = manager_client.get(url).content.decode()
        assert XSS not in content, url
        assert "&lt;script&gt;" in content, url


def test_query_count_does_not_grow_with_products(manager_client, install):
    install(products=[product(f"p{i}", "named", 5) for i in range(2)])
    few = page_queries(manager_client, URL)
    install(products=[product(f"p{i}", "named", 5) for i in range(20)])
    many = page_queries(manager_client, URL)
    assert few == many


def test_dashboard_panel_warnings(rf, install, manager, editor, make_users):
    install(products=[product("editor", "named", 5, name="CMS editor")])
    operations.grant([editor, *make_users(4)], ["editor"], user=manager)
    install(products=[
        product("editor", "named", 3, name="CMS editor"),
        product("portal", "portal", 10, name="Customer portal",
                valid_until=today() + timedelta(days=5)),
        product("analytics", "named", 10, name="Analytics"),
        product("reports", "named", 10, name="Reports"),
    ])
    operations.grant(make_users(9, prefix="analyst"), ["analytics"], user=manager)
    request = rf.get("/admin/")
    request.user = manager
    html = LicensingSummaryPanel().render_html({"request": request})
    assert "data-licensing-warnings" not in html  # the banner says them, once
    request.user = hide_banner_alerts(manager)  # now the panel does
    html = LicensingSummaryPanel().render_html({"request": request})
    assert 'id="licensing-summary-section"' in html
    # The banner's words (rules.status): one wording on every surface.
    assert ("CMS editor (editor) is over-allocated: 5 active users hold it but it has 3 seats, "
            "so the 2 most recently granted have no access.") in html
    assert "Customer portal (portal) expires in 5 days" in html
    assert "Analytics (analytics) uses 9 of its 10 seats." in html  # SEAT_WARNING_THRESHOLD
    assert "Reports (reports)" not in html.split("data-licensing-warnings", 1)[1].split("</ul>")[0]
    assert "5 active holders for 3 seats: 2 without a seat" in html  # not "3 of 3 seats used"
    assert reverse("wagtail_licensing:license_manager") in html

    request.user = editor
    assert LicensingSummaryPanel().render_html({"request": request}) == ""


def test_dashboard_panel_on_the_home_page(client, install, manager, editor):
    install(products=[product("editor", "named", 5, name="CMS editor")])
    operations.grant([manager, editor], ["editor"], user=manager)
    client.force_login(manager)
    content = client.get(reverse("wagtailadmin_home")).content.decode()
    assert 'id="licensing-summary-section"' in content
    assert "2 of 5 seats used" in content
    assert "license-manager.css" in content  # the panel's media

    client.force_login(editor)  # holds a license, but is no manager
    content = client.get(reverse("wagtailadmin_home")).content.decode()
    assert 'id="main"' in content
    assert "licensing-summary" not in content


def test_dashboard_panel_in_demo_mode(client, superuser):
    client.force_login(superuser)
    content = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Demo mode: no licenses installed." in content
    assert reverse("wagtail_licensing:upload") in content


def test_dashboard_query_count_does_not_grow_with_products(client, install, superuser):
    client.force_login(superuser)
    home = reverse("wagtailadmin_home")
    install(products=[product(f"p{i}", "named", 5) for i in range(2)])
    operations.grant([superuser], ["p0"])  # a license to use the admin with
    few = page_queries(client, home)
    install(products=[product(f"p{i}", "named", 5) for i in range(20)])
    assert page_queries(client, home) == few
