"""Grant and recall through the API: the actions' seat rules, refusals, audit entries and
hooks, never a direct write."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail import hooks
from wagtail.models import ModelLogEntry

from tests.api.conftest import url
from tests.support.users import holders
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment

pytestmark = pytest.mark.django_db


def post(client, name, users, products):
    return client.post(url(f"assignments/{name}/"), {"users": users, "products": products},
                       format="json")


def test_grant_by_username_and_id(manager_api, installed, make_users):
    a, b = make_users(2)
    response = post(manager_api, "grant", [a.username, b.pk], ["editor"])
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["changed"] is True
    assert data["products"]["editor"]["status"] == "granted"
    assert sorted(data["products"]["editor"]["granted"]) == [a.username, b.username]
    assert data["messages"][0]["level"] == "success"
    assert holders("editor") == {a.username, b.username}
    assert set(LicenseAssignment.objects.values_list("source", flat=True)) == {"api"}
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.grant")
    assert entry.user_id is not None and entry.data["source"] == "api"
    assert entry.data["granted"]["editor"]["count"] == 2


def test_grant_is_idempotent(manager_api, installed, make_users):
    (a,) = make_users(1)
    post(manager_api, "grant", [a.username], ["editor"])
    response = post(manager_api, "grant", [a.username], ["editor"])
    assert response.status_code == 200
    data = response.json()
    assert data["changed"] is False
    assert data["products"]["editor"] == {"status": "unchanged", "granted": [],
                                          "already": [a.username], "wrong_type": []}
    assert ModelLogEntry.objects.filter(action="wagtail_licensing.grant").count() == 1


def test_seat_conflict_is_409_and_all_or_nothing_per_product(manager_api, installed,
                                                            make_users):
    users = make_users(6)  # editor has 5 seats
    response = post(manager_api, "grant", [u.username for u in users], ["editor", "analytics"])
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("seat-conflict")
    assert "6 seats are needed but only 5 of 5 are available" in problem["detail"]
    results = problem["results"]["products"]
    assert results["editor"]["status"] == "refused"
    assert results["editor"]["refusal"]["reason"] == "not_enough_seats"
    assert results["analytics"]["status"] == "granted"
    assert holders("editor") == set()
    assert len(holders("analytics")) == 6


def test_unknown_users_or_products_change_nothing(manager_api, installed, make_users):
    (a,) = make_users(1)
    response = post(manager_api, "grant", [a.username, "ghost", 999999], ["editor"])
    assert response.status_code == 404
    assert response.json()["unknown_users"] == ["ghost", 999999]
    response = post(manager_api, "grant", [a.username], ["editor", "nope"])
    assert response.status_code == 404
    assert response.json()["unknown_products"] == ["nope"]
    assert not LicenseAssignment.objects.exists()
    response = post(manager_api, "recall", [a.username], ["nope"])
    assert response.status_code == 404


@pytest.mark.parametrize("body, field", [
    ({}, "users"),
    ({"users": [], "products": ["editor"]}, "users"),
    ({"users": ["a"], "products": []}, "products"),
    ({"users": [True], "products": ["editor"]}, "users.0"),
    ({"users": [" "], "products": ["editor"]}, "users.0"),
    ({"users": [2**64], "products": ["editor"]}, "users.0"),
    ({"users": [-1], "products": ["editor"]}, "users.0"),
    ({"users": [1.5], "products": ["editor"]}, "users.0"),
    ({"users": "a", "products": ["editor"]}, "users"),
    ({"users": ["a"], "products": [{"x": 1}]}, "products.0"),
])
def test_bad_requests_are_400_per_field(manager_api, installed, body, field):
    response = manager_api.post(url("assignments/grant/"), body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_malformed_json_is_400(manager_api, installed):
    response = manager_api.post(url("assignments/grant/"), "{nope",
                                content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"].endswith("invalid-request")


def test_grant_in_demo_mode_is_refused(manager_api, make_users):
    (a,) = make_users(1)
    response = post(manager_api, "grant", [a.username], ["editor"])
    assert response.status_code == 409
    assert "demo mode" in response.json()["detail"]


def test_portal_users_are_skipped_as_in_the_admin(manager_api, installed, make_users):
    (p,) = make_users(1, prefix="portal", portal=True)
    data = post(manager_api, "grant", [p.username], ["editor"]).json()
    assert data["products"]["editor"]["wrong_type"] == [p.username]
    assert data["products"]["editor"]["status"] == "unchanged"


def test_recall_and_idempotent_recall(manager_api, installed, make_users):
    a, b = make_users(2)
    operations.grant([a, b], ["editor"])
    response = post(manager_api, "recall", [a.username], ["editor"])
    assert response.status_code == 200
    assert response.json()["products"]["editor"] == {"status": "recalled",
                                                     "recalled": [a.username]}
    assert holders("editor") == {b.username}
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.recall")
    assert entry.data["source"] == "api"
    again = post(manager_api, "recall", [a.username], ["editor"]).json()
    assert again["changed"] is False and again["products"]["editor"]["status"] == "unchanged"


def test_grant_runs_the_hooks(manager_api, installed, make_users):
    seen = []
    with hooks.register_temporarily("after_licenses_granted",
                                    lambda user, result: seen.append(user.username)):
        post(manager_api, "grant", [make_users(1)[0].username], ["editor"])
    assert seen == ["manager"]


def test_grant_to_many_costs_constant_queries(manager_api, installed, make_users,
                                             django_assert_max_num_queries):
    few = make_users(3, prefix="few")
    many = make_users(400, prefix="many")
    with CaptureQueriesContext(connection) as small:
        post(manager_api, "grant", [u.username for u in few], ["analytics"])
    with django_assert_max_num_queries(len(small)):
        response = post(manager_api, "grant", [u.username for u in many], ["analytics"])
    assert len(response.json()["products"]["analytics"]["granted"]) == 400
