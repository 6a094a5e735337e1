"""Usage history and idle seats through the API: read-only, from the snapshots and the one
definition of "idle"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.conftest import url
from wagtail_licensing import operations
from wagtail_licensing.actions.idle import idle_days
from wagtail_licensing.dates import site_today
from wagtail_licensing.models import LicenseAssignment, UsageSnapshot

pytestmark = pytest.mark.django_db


def test_usage_history_with_a_date_range(api, installed, manager, make_users, token_for):
    operations.grant(make_users(2), ["editor"])
    today = site_today()
    for n in range(3):
        operations.take_usage_snapshot(day=today - timedelta(days=n))
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager, read_only=True))
    data = api.get(url("usage/"), {"product": "editor"}).json()
    assert data["count"] == 3
    assert [row["day"] for row in data["results"]] == [
        (today - timedelta(days=n)).isoformat() for n in (2, 1, 0)
    ]
    assert data["results"][-1] | {"day": None} == {
        "product": "editor",
        "day": None,
        "seats": 5,
        "used": 2,
        "holders": 2,
        "active_holders_30d": 0,
        "peak_sessions": 0,
    }
    ranged = api.get(
        url("usage/"), {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()}
    ).json()
    assert {row["day"] for row in ranged["results"]} == {
        (today - timedelta(days=1)).isoformat(),
        today.isoformat(),
    }
    assert ranged["count"] == 2 * UsageSnapshot.objects.filter(day=today).count()


def test_usage_history_bad_filters(manager_api):
    response = manager_api.get(url("usage/"), {"start": "2026-02-30"})
    assert response.status_code == 400 and "start" in response.json()["errors"]
    response = manager_api.get(url("usage/"), {"start": "2026-03-02", "end": "2026-03-01"})
    assert response.status_code == 400
    assert response.json()["errors"]["start"] == ["The first day comes after the last day."]


def test_usage_history_pages_in_constant_queries(
    manager_api, installed, django_assert_max_num_queries
):
    today = site_today()
    UsageSnapshot.objects.bulk_create(
        UsageSnapshot(product_code="editor", day=today - timedelta(days=n), seats=5, used=1)
        for n in range(300)
    )
    with django_assert_max_num_queries(6):
        data = manager_api.get(url("usage/?page_size=1000")).json()
    assert data["count"] == 300


def test_idle_seats(api, installed, manager, make_users, token_for, settings):
    users = make_users(3)
    operations.grant(users, ["editor", "analytics"])
    long_ago = timezone.now() - timedelta(days=200)
    LicenseAssignment.objects.filter(user__in=users[:2]).update(granted_at=long_ago)
    LicenseAssignment.objects.filter(user=users[1], product_code="editor").update(
        last_active_on=site_today()
    )
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager, read_only=True))
    response = api.get(url("idle-seats/"))
    assert response.status_code == 200
    data = response.json()
    assert data["days"] == idle_days() == 60
    products = {p["code"]: p for p in data["products"]}
    assert products["editor"] | {"name": None} == {
        "code": "editor",
        "name": None,
        "holders": 1,
        "seats_freed": 1,
        "usernames": [users[0].username],
        "more": 0,
    }
    assert products["analytics"]["holders"] == 2
    only = api.get(url("idle-seats/"), {"product": "analytics", "days": 400}).json()
    assert only["days"] == 400 and only["products"] == []
    assert api.get(url("idle-seats/"), {"days": 0}).status_code == 400
