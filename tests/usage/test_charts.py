"""The usage chart on a product's page and the trend on the License manager."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from tests.support.licenses import today
from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.models import LicensedProduct, UsageSnapshot


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def product_url(code="editor", **query):
    url = reverse("wagtail_licensing:product", args=[code])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def history(code, days, used=lambda n: n % 5, seats=5, peak=0):
    UsageSnapshot.objects.bulk_create(
        UsageSnapshot(product_code=code, day=today() - timedelta(days=n), seats=seats,
                      used=used(n), holders=used(n), peak_sessions=peak)
        for n in days)


def test_product_page_draws_the_last_90_days(manager_client, installed):
    history("editor", range(0, 200))
    response = manager_client.get(product_url())
    assert response.status_code == 200
    chart = response.context["chart"]
    assert len(chart.days) == 90 and len(chart.rows) == 90
    html = response.content.decode()
    assert 'role="img"' in html and "<svg" in html
    assert html.count('data-series="used"') == 1  # one unbroken line
    assert 'data-series="seats"' in html
    assert "Show the data as a table" in html
    assert 'data-series="peak"' not in html  # named product


def test_last_year_and_gaps(manager_client, installed):
    history("editor", [*range(0, 10), *range(20, 300)])
    response = manager_client.get(product_url(usage="365"))
    chart = response.context["chart"]
    assert len(chart.days) == 365 and len(chart.rows) == 290
    # The 10 missing days break the line in two.
    assert response.content.decode().count('data-series="used"') == 2
    assert 'aria-current="true" data-usage-range="365"' in response.content.decode()


def test_bad_range_falls_back_to_90_days(manager_client, installed):
    response = manager_client.get(product_url(usage="nonsense"))
    assert response.status_code == 200
    assert response.context["chart_range"] == "90"


def test_concurrent_product_shows_peak_sessions(manager_client, installed):
    history("occasional", range(0, 5), peak=2)
    html = manager_client.get(product_url("occasional")).content.decode()
    assert 'data-series="peak"' in html
    assert "Peak concurrent sessions" in html


def test_no_history_yet(manager_client, installed):
    response = manager_client.get(product_url())
    assert b"data-usage-chart-empty" in response.content


def test_chart_costs_one_query_whatever_the_history(manager_client, installed):
    def count():
        manager_client.get(product_url())
        with count_queries() as queries:
            manager_client.get(product_url(usage="365"))
        return len(queries)

    before = count()
    history("editor", range(0, 365))
    assert count() == before


def test_license_manager_trend(manager_client, installed):
    history("editor", range(0, 40))
    history("analytics", range(0, 3), seats=None)
    response = manager_client.get(reverse("wagtail_licensing:license_manager"))
    html = response.content.decode()
    assert len(re.findall(r"data-usage-trend", html)) == 2
    assert "Last 30 days: seats used from 0 to 4" in html


def test_license_manager_trend_query_count_is_constant(manager_client, installed):
    url = reverse("wagtail_licensing:license_manager")
    manager_client.get(url)
    with count_queries() as without:
        manager_client.get(url)
    for code in LicensedProduct.objects.values_list("code", flat=True):
        history(code, range(0, 30))
    with count_queries() as with_history:
        manager_client.get(url)
    assert len(with_history) == len(without)


def test_snapshot_then_chart(manager_client, installed, manager):
    operations.grant([manager], ["editor"])
    operations.take_usage_snapshot()
    chart = manager_client.get(product_url()).context["chart"]
    assert chart.rows[0]["used"] == 1
