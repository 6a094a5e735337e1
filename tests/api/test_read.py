"""The read endpoints: the license, products, assignments and a user's licenses."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from tests.api.conftest import url
from tests.support.licenses import product, today
from wagtail_licensing import operations
from wagtail_licensing.models import AssignmentSource

pytestmark = pytest.mark.django_db


def test_license_in_demo_mode(manager_api):
    response = manager_api.get(url("license/"))
    assert response.status_code == 200
    data = response.json()
    assert data["demo_mode"] is True
    assert data["installed_file"] is None
    assert data["products"] == []
    assert [a["kind"] for a in data["alerts"]] == ["demo"]


def test_license_with_products_and_counters(manager_api, installed, make_users):
    users = make_users(3)
    operations.grant(users, ["editor"])
    data = manager_api.get(url("license/")).json()
    assert data["demo_mode"] is False
    assert data["company_id"] == "ACME"
    assert data["installed_file"]["license_id"] == installed.license_id
    assert data["installed_file"]["filename"] == f"{installed.license_id}.lic"
    assert data["days_until_expiry"] == 365
    assert data["status"] == "active"
    # analytics is unlimited, so the named/portal total is too; the counters say 3 used
    assert data["seats"] is None
    assert data["seats_used"] == 3
    editor = next(p for p in data["products"] if p["code"] == "editor")
    assert editor["used"] == 3 and editor["available"] == 2 and editor["holders"] == 3


def test_license_status_is_the_worst_product_status(manager_api, install, make_users):
    install(products=[product("editor", seats=2, valid_until=today() + timedelta(days=3)),
                      product("other", seats=2)])
    data = manager_api.get(url("license/")).json()
    assert data["status"] == "expiring"
    assert data["days_until_expiry"] == 3
    assert any(a["kind"] == "expiring" and "3 days" in a["message"] for a in data["alerts"])


def test_products(manager_api, installed, make_users):
    operations.grant(make_users(5), ["editor"])
    response = manager_api.get(url("products/"))
    assert response.status_code == 200
    products = {p["code"]: p for p in response.json()}
    assert set(products) == {"editor", "analytics", "occasional", "portal"}
    editor = products["editor"]
    assert editor | {"alerts": None} == editor | {
        "name": "CMS editor", "type": "named", "seats": 5, "used": 5, "available": 0,
        "holders": 5, "days_until_expiry": 365, "alerts": None}
    assert [a["kind"] for a in editor["alerts"]] == ["seats"]
    assert products["analytics"]["seats"] is None and products["analytics"]["available"] is None


def test_one_product_and_unknown_product(manager_api, installed):
    assert manager_api.get(url("products/editor/")).json()["code"] == "editor"
    response = manager_api.get(url("products/nope/"))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    assert problem["unknown_products"] == ["nope"]
    assert "nope is not a product of the installed license" in problem["detail"]


def test_assignments_list_filters_and_pages(manager_api, installed, make_users):
    users = make_users(4)
    operations.grant(users[:3], ["editor"])
    operations.grant(users[2:], ["analytics"], source=AssignmentSource.IMPORT)
    data = manager_api.get(url("assignments/")).json()
    assert data["count"] == 5
    first = data["results"][0]
    assert set(first) == {"id", "user", "product", "has_seat", "granted_at", "granted_by",
                          "source", "held", "groups"}
    by_product = manager_api.get(url("assignments/?product=editor")).json()
    assert {a["user"]["username"] for a in by_product["results"]} == {
        u.username for u in users[:3]}
    by_user = manager_api.get(url(f"assignments/?user={users[2].username}")).json()
    assert {a["product"] for a in by_user["results"]} == {"editor", "analytics"}
    by_id = manager_api.get(url(f"assignments/?user={users[3].pk}")).json()
    assert [a["product"] for a in by_id["results"]] == ["analytics"]
    by_source = manager_api.get(url("assignments/?source=import")).json()
    assert by_source["count"] == 2
    page = manager_api.get(url("assignments/?page_size=2&page=2")).json()
    assert len(page["results"]) == 2 and page["previous"] and page["next"]


def test_assignments_bad_filters(manager_api, installed):
    response = manager_api.get(url("assignments/?source=carrier-pigeon"))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "source" in response.json()["errors"]
    response = manager_api.get(url("assignments/?user=ghost"))
    assert response.status_code == 404
    assert response.json()["unknown_users"] == ["ghost"]
    assert manager_api.get(url("assignments/?page=99")).status_code == 404


def test_assignments_pages_in_constant_queries(manager_api, installed, make_users,
                                               django_assert_max_num_queries):
    operations.grant(make_users(300), ["analytics"])
    # the session, the user, their permissions (2), the count, the page, the groups the page
    # is held through: whatever the number
    with django_assert_max_num_queries(7):
        data = manager_api.get(url("assignments/?page_size=1000")).json()
    assert data["count"] == 300 and len(data["results"]) == 300


def test_user_licenses(manager_api, installed, make_users):
    (user,) = make_users(1)
    operations.grant([user], ["editor", "analytics"])
    data = manager_api.get(url(f"users/{user.username}/licenses/")).json()
    assert data["user"] == {"id": user.pk, "username": user.username}
    assert [(lic["product"], lic["installed"], lic["state"]) for lic in data["licenses"]] == [
        ("analytics", True, "active"), ("editor", True, "active")]
    assert manager_api.get(url(f"users/{user.pk}/licenses/")).json()["user"]["id"] == user.pk
    response = manager_api.get(url("users/ghost/licenses/"))
    assert response.status_code == 404
    assert response.json()["unknown_users"] == ["ghost"]


def test_a_username_wins_over_an_id(manager_api, installed, make_users):
    (other,) = make_users(1)
    digits = get_user_model().objects.create_user(str(other.pk), "d@example.com", "pw")
    data = manager_api.get(url(f"users/{other.pk}/licenses/")).json()
    assert data["user"]["id"] == digits.pk


@pytest.mark.parametrize("ref", ["99999999999999999999999", "\u00b2", "0"])
def test_odd_user_references_are_404_not_500(manager_api, installed, ref):
    assert manager_api.get(url(f"users/{ref}/licenses/")).status_code == 404
    assert manager_api.get(url("assignments/"), {"user": ref}).status_code == 404
