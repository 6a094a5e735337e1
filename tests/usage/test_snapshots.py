"""Daily usage snapshots: one row per product per day, automatic or by the command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.http import HttpResponse

from tests.support.enforcement import ADMIN, grant, login, request_for
from tests.support.licenses import today
from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.enforcement import activity
from wagtail_licensing.middleware import LicenseEnforcementMiddleware
from wagtail_licensing.models import LicenseAssignment, UsageSnapshot


def rows(day=None):
    return {s.product_code: s for s in UsageSnapshot.objects.filter(day=day or today())}


def test_snapshot_counts_seats_holders_and_recent_activity(installed, make_users):
    users = make_users(4)
    operations.grant(users[:3], ["editor"])
    LicenseAssignment.objects.filter(user=users[0]).update(last_active_on=today())
    LicenseAssignment.objects.filter(user=users[1]).update(
        last_active_on=today() - timedelta(days=45))
    result = operations.take_usage_snapshot()
    assert result.created == 4 and sorted(result.products) == [
        "analytics", "editor", "occasional", "portal"]
    editor = rows()["editor"]
    assert (editor.seats, editor.used, editor.holders, editor.active_holders_30d) == (5, 3, 3, 1)
    assert rows()["analytics"].seats is None
    # Taken again the same day: refreshed, still one row per product.
    operations.grant([users[3]], ["editor"])
    result = operations.take_usage_snapshot()
    assert result.created == 0
    assert UsageSnapshot.objects.filter(product_code="editor").count() == 1
    assert rows()["editor"].used == 4


def test_snapshot_query_count_does_not_grow_with_holders(installed, make_users,
                                                         django_assert_max_num_queries):
    operations.take_usage_snapshot()
    operations.grant(make_users(3), ["editor"])
    with count_queries() as few:
        operations.take_usage_snapshot()
    operations.grant(make_users(200, prefix="many"), ["analytics"])
    with count_queries() as many:
        operations.take_usage_snapshot()
    assert len(few) == len(many)
    with django_assert_max_num_queries(8):
        operations.take_usage_snapshot()


def test_retention_prunes_old_rows(installed, settings):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "USAGE_RETENTION_DAYS": 10}
    operations.take_usage_snapshot(day=today() - timedelta(days=11))
    operations.take_usage_snapshot(day=today() - timedelta(days=10))
    result = operations.take_usage_snapshot()
    assert result.pruned == 4
    assert sorted({s.day for s in UsageSnapshot.objects.all()}) == [
        today() - timedelta(days=10), today()]


def test_peak_concurrent_sessions_grow_during_the_day(installed, make_users):
    a, b = make_users(2)
    operations.grant([a, b], ["occasional"])
    operations.take_usage_snapshot()
    assert rows()["occasional"].peak_sessions == 0
    operations.take_concurrent_slot(a, ["occasional"], token="t1")
    operations.take_concurrent_slot(b, ["occasional"], token="t2")
    assert rows()["occasional"].peak_sessions == 2
    operations.end_concurrent_session("t1")
    operations.take_usage_snapshot()  # a refresh never lowers the peak
    assert rows()["occasional"].peak_sessions == 2


def test_the_first_licensing_read_of_a_day_takes_it(client, editor, installed,
                                                    automatic_snapshot):
    grant(editor, "editor")
    assert not UsageSnapshot.objects.exists()
    login(client, editor).get(ADMIN)
    assert rows()["editor"].used == 1
    # Once seen, no query: the warm path stays free.
    middleware = LicenseEnforcementMiddleware(lambda request: HttpResponse())
    middleware.check(request_for(editor, ADMIN))
    with count_queries() as queries:
        assert activity.ensure_daily_snapshot() is False
        assert middleware.check(request_for(editor, ADMIN)) is None
    assert len(queries) == 0


def test_another_process_took_it_already(installed, automatic_snapshot):
    operations.take_usage_snapshot()
    with count_queries() as queries:
        assert activity.ensure_daily_snapshot() is False
    assert len(queries) == 1


def test_demo_mode_takes_nothing(state, automatic_snapshot):
    assert activity.ensure_daily_snapshot() is True
    assert not UsageSnapshot.objects.exists()


def test_command(installed):
    out = StringIO()
    call_command("licensing", "snapshot", stdout=out)
    assert f"Took the usage snapshot of {today().isoformat()} for 4 products" in out.getvalue()
    assert UsageSnapshot.objects.filter(day=today()).count() == 4


@pytest.mark.django_db
def test_command_in_demo_mode():
    out = StringIO()
    call_command("licensing", "snapshot", stdout=out)
    assert "No license is installed" in out.getvalue()
