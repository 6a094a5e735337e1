"""Idle seats: the License usage report, System users' "idle" filter, Recall idle seats."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.log_actions import registry

from tests.support.enforcement import grant, login
from tests.support.licenses import today
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, LicensingState

REPORT = "/admin/reports/license-usage/"
BULK = "/admin/licensing/users/bulk/recall_idle_seats/"


def set_last_active(users, code, days_ago):
    LicenseAssignment.objects.filter(user__in=users, product_code=code).update(
        last_active_on=today() - timedelta(days=days_ago))


@pytest.fixture
def holders(installed, make_users):
    idle = make_users(3, prefix="idle")
    busy = make_users(2, prefix="busy")
    operations.grant(idle + busy, ["editor", "analytics"])
    set_last_active(idle, "editor", 90)
    set_last_active(busy, "editor", 1)
    set_last_active(idle + busy, "analytics", 2)
    return idle, busy


def test_the_report_lists_idle_holders_per_product_with_the_seats_freed(
        client, manager, holders):
    login(client, manager)
    response = client.get(REPORT)
    assert response.status_code == 200
    summary = response.context["summary"]
    assert [(p.code, p.holders, p.seats_freed) for p in summary] == [("editor", 3, 3)]
    rows = list(response.context["object_list"])
    assert sorted(a.user.username for a in rows) == ["idle0", "idle1", "idle2"]
    content = response.content.decode()
    assert "CMS editor" in content and "busy0" not in content
    # A 30-day window shows the same three; a year shows nobody.
    assert len(client.get(REPORT, {"idle": "365"}).context["object_list"]) == 0


def test_the_report_makes_a_constant_number_of_queries(
        client, manager, holders, make_users, django_assert_max_num_queries):
    login(client, manager)
    client.get(REPORT)
    more = make_users(40, prefix="late")
    operations.grant(more, ["editor", "analytics"])
    set_last_active(more, "analytics", 100)
    with django_assert_max_num_queries(25) as before:
        client.get(REPORT)
    few = len(before)
    more = make_users(30, prefix="later")
    operations.grant(more, ["analytics"])
    set_last_active(more, "analytics", 100)
    with CaptureQueriesContext(connection) as after:
        client.get(REPORT)
    assert len(after) == few


def test_the_report_exports_csv_with_formulas_escaped(client, manager, installed, make_users):
    (user,) = make_users(1, prefix="=cmd")
    user.first_name = "=HYPERLINK(1)"
    user.save()
    grant(user, "editor")
    set_last_active([user], "editor", 200)
    login(client, manager)
    response = client.get(REPORT, {"export": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "Username"
    assert rows[1][0] == "'=cmd0"
    assert rows[1][2].startswith("'=HYPERLINK")
    xlsx = client.get(REPORT, {"export": "xlsx"})
    assert xlsx.status_code == 200


def test_the_report_is_for_license_managers(client, editor, manager, installed):
    login(client, editor)
    assert client.get(REPORT).status_code in (302, 403)
    grant(manager, "editor")  # a licensed manager: the whole admin, Reports included
    login(client, manager)
    assert "license-usage" in client.get("/admin/").content.decode()
    # Unlicensed managers see only the Licensing menu: the License manager links to it.
    LicenseAssignment.objects.filter(user=manager).delete()
    assert REPORT in client.get("/admin/licensing/").content.decode()


def test_system_users_filter_idle(client, manager, holders):
    idle, busy = holders
    login(client, manager)
    response = client.get(reverse("wagtail_licensing_users:index"), {"idle": "60"})
    names = {u.username for u in response.context["object_list"]}
    assert names == {"idle0", "idle1", "idle2"}
    response = client.get(reverse("wagtail_licensing_users:index"),
                          {"idle": "60", "product": "analytics"})
    assert list(response.context["object_list"]) == []
    # A value that is not offered is ignored, never a 500.
    assert client.get(reverse("wagtail_licensing_users:index"),
                      {"idle": "abc"}).status_code == 200


def test_recall_idle_seats_previews_then_recalls_only_idle_assignments(
        client, manager, holders, django_assert_max_num_queries):
    idle, busy = holders
    login(client, manager)
    users = [u.pk for u in idle + busy]
    response = client.get(BULK, {"id": users})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [(p.code, p.holders, p.names) for p in preview] == [
        ("editor", 3, ["idle0", "idle1", "idle2"])]
    assert "busy0" not in "".join(response.context["preview"][0].names)
    with django_assert_max_num_queries(40):
        response = client.post(BULK + "?" + "&".join(f"id={pk}" for pk in users),
                               {"products": ["editor"]})
    assert response.status_code == 302
    left = set(LicenseAssignment.objects.values_list("user__username", "product_code"))
    assert ("idle0", "editor") not in left
    assert ("idle0", "analytics") in left  # used lately: kept
    assert ("busy0", "editor") in left


def test_recall_idle_seats_query_count_does_not_grow(client, manager, installed, make_users):
    login(client, manager)
    counts = []
    for n in (2, 5, 50):
        users = make_users(n, prefix=f"n{n}_")
        operations.grant(users, ["analytics"])
        set_last_active(users, "analytics", 100)
        with CaptureQueriesContext(connection) as queries:
            client.post(BULK + "?id=all&idle=60", {"products": ["analytics"]})
        counts.append(len(queries))
        assert not LicenseAssignment.objects.filter(product_code="analytics").exists()
    assert counts[1] == counts[2], counts  # the first post warms caches


def test_recall_idle_seats_requires_the_permission(client, editor, holders):
    login(client, editor)
    response = client.post(BULK + "?id=all", {"products": ["editor"]})
    assert response.status_code in (302, 403)
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 5


def test_the_audit_entry_says_idle(manager, holders):
    idle, busy = holders
    operations.recall_idle_seats(idle + busy, ["editor"], days=60, user=manager)
    entry = registry.get_logs_for_instance(LicensingState.get()).first()
    assert "idle for 60 days" in entry.message


def test_a_gated_reports_prefix_does_not_close_the_report_to_managers(
        client, settings, manager, editor, installed):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "FEATURES": {
        "reports": {"products": ["analytics"], "admin_url_prefixes": ["/admin/reports/"],
                    "menu_items": ["reports"]}}}
    grant(manager, "editor")
    grant(editor, "editor")
    login(client, manager)
    assert client.get(REPORT).status_code == 200
    login(client, editor)
    assert client.get(REPORT).status_code in (302, 403)


def test_the_reports_button_opens_the_bulk_action_with_its_product_ticked(
        client, manager, holders):
    login(client, manager)
    report = client.get(REPORT)
    url = report.context["summary"][0].recall_url
    assert url.startswith(BULK)
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["form"].initial["products"] == ["editor"]
    assert response.context["preview"][0].holders == 3
