"""The Prometheus endpoint: gauges per product from the kept counters, written by
prometheus-client when it is installed (in the format the scraper asks for) and by hand
otherwise; read-only tokens may read it, others are refused as for every endpoint."""

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as text_format

from tests.api.conftest import url
from wagtail_licensing import operations
from wagtail_licensing.api import metrics

pytestmark = pytest.mark.django_db

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


@pytest.fixture(params=["prometheus-client", "by hand"])
def writer(request, monkeypatch):
    if request.param == "by hand":
        monkeypatch.setattr(metrics, "prometheus_client", None)
    return request.param


def samples(response):
    """{(name, labels...): value} as a scraper reads them."""
    text = response.content.decode()
    parse = openmetrics if "openmetrics" in response["Content-Type"] else text_format
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in parse(text)
        for sample in family.samples
    }


def key(name, product=None, **labels):
    if product is not None:
        labels |= {"product": product, "type": "named"}
    return (f"wagtail_licensing_{name}", *sorted(labels.items()))


@pytest.mark.parametrize("accept", [PROMETHEUS_ACCEPT, "text/plain", ""])
def test_metrics_for_a_read_only_token(
    api, installed, manager, make_users, token_for, writer, accept
):
    operations.grant(make_users(3), ["editor"])
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager, read_only=True))
    response = api.get(url("metrics/"), HTTP_ACCEPT=accept)
    assert response.status_code == 200
    if writer == "by hand":
        assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    elif accept == PROMETHEUS_ACCEPT:
        assert response["Content-Type"].startswith("application/openmetrics-text")
        assert response.content.endswith(b"# EOF\n")
    else:
        assert response["Content-Type"].startswith("text/plain")
    found = samples(response)
    assert found[key("demo_mode")] == 0
    assert found[key("seats", "editor")] == 5
    assert found[key("seats_used", "editor")] == 3
    assert found[key("seats_available", "editor")] == 2
    assert found[key("seats", "analytics")] == float("inf")
    assert found[key("days_until_expiry", "editor")] == 365
    assert found[key("status", "editor", status="active")] == 1
    assert found[key("holders", "editor")] == 3


def test_both_writers_say_the_same(api, installed, manager, make_users, token_for, monkeypatch):
    operations.grant(make_users(2), ["editor", "analytics"])
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager, read_only=True))
    by_client = samples(api.get(url("metrics/"), HTTP_ACCEPT="text/plain"))
    monkeypatch.setattr(metrics, "prometheus_client", None)
    by_hand = samples(api.get(url("metrics/"), HTTP_ACCEPT="text/plain"))
    assert by_client == by_hand and len(by_hand) > 20


def test_metrics_in_demo_mode(manager_api, writer):
    assert samples(manager_api.get(url("metrics/")))[key("demo_mode")] == 1


def test_metrics_cost_constant_queries(
    api, installed, manager, token_for, make_users, django_assert_max_num_queries
):
    operations.grant(make_users(50), ["editor", "analytics"])
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager, read_only=True))
    api.get(url("metrics/"))  # the token's first use is recorded once
    # the token, the user's permissions (2), the state, the products with their counters
    with django_assert_max_num_queries(5):
        assert api.get(url("metrics/")).status_code == 200


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("editor", 403)])
def test_metrics_are_refused(api, editor, installed, who, status):
    if who == "editor":
        api.force_login(editor)
    response = api.get(url("metrics/"), HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
