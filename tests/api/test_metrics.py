"""The Prometheus endpoint: gauges per product from the kept counters; read-only tokens may read
it, others are refused as for every endpoint."""

import pytest

from tests.api.conftest import url
from wagtail_licensing import operations

pytestmark = pytest.mark.django_db

PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def test_metrics_for_a_read_only_token(api, installed, manager, make_users, token_for):
    operations.grant(make_users(3), ["editor"])
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager, read_only=True))
    response = api.get(url("metrics/"), HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert "wagtail_licensing_demo_mode 0" in text
    assert 'wagtail_licensing_seats{product="editor",type="named"} 5' in text
    assert 'wagtail_licensing_seats_used{product="editor",type="named"} 3' in text
    assert 'wagtail_licensing_seats_available{product="editor",type="named"} 2' in text
    assert 'wagtail_licensing_seats{product="analytics",type="named"} +Inf' in text
    assert 'wagtail_licensing_days_until_expiry{product="editor",type="named"} 365' in text
    assert ('wagtail_licensing_status{product="editor",type="named",status="active"} 1'
            in text)
    assert "# TYPE wagtail_licensing_holders gauge" in text


def test_metrics_in_demo_mode(manager_api):
    text = manager_api.get(url("metrics/")).content.decode()
    assert "wagtail_licensing_demo_mode 1" in text


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("editor", 403)])
def test_metrics_are_refused(api, editor, installed, who, status):
    if who == "editor":
        api.force_login(editor)
    response = api.get(url("metrics/"), HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
