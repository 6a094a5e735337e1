"""Portal users through the API: create (with portal products, all or nothing) and convert, with
the admin's refusals, through the actions."""

import pytest
from django.contrib.auth import get_user_model
from wagtail.models import ModelLogEntry

from tests.api.conftest import url
from tests.support.users import holders
from wagtail_licensing import operations
from wagtail_licensing.models import PortalUser

pytestmark = pytest.mark.django_db


def create(client, **body):
    return client.post(url("portal-users/"), body, format="json")


def test_create_with_a_portal_product(manager_api, manager, installed):
    response = create(manager_api, email="Pat@Example.com", first_name="Pat", products=["portal"])
    assert response.status_code == 201, response.json()
    data = response.json()
    user = get_user_model().objects.get(pk=data["user"]["id"])
    assert data["user"]["username"] == user.username == "Pat@example.com"
    assert not user.has_usable_password()
    assert PortalUser.objects.filter(user=user).exists()
    assert data["products"] == ["portal"] and holders("portal") == {user.username}
    assert data["messages"][0] == {
        "level": "success",
        "text": f"Portal user {user.username} created.",
    }
    entry = ModelLogEntry.objects.get(action=operations.ACTION_PORTAL_USER)
    assert entry.user_id == manager.pk and entry.data["event"] == "created"


def test_create_refusals_change_nothing(manager_api, installed, make_users):
    (taken,) = make_users(1)
    count = get_user_model().objects.count()
    response = create(manager_api, email=taken.email)
    assert response.status_code == 409
    assert response.json()["type"].endswith("portal-user-refused")
    assert "already exists" in response.json()["detail"]
    response = create(manager_api, email="new@example.com", products=["editor"])
    assert response.status_code == 409
    assert "is not a portal product" in response.json()["detail"]
    response = create(manager_api, email="new@example.com", products=["nope"])
    assert response.status_code == 404 and response.json()["unknown_products"] == ["nope"]
    response = create(manager_api, email="not an address")
    assert response.status_code == 400 and "email" in response.json()["errors"]
    assert get_user_model().objects.count() == count
    assert not PortalUser.objects.exists()


def test_convert(manager_api, installed, make_users):
    (user,) = make_users(1)
    operations.grant([user], ["editor", "analytics"])
    response = manager_api.post(
        url("portal-users/convert/"), {"user": user.username}, format="json"
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["recalled"] == ["analytics", "editor"]
    assert PortalUser.objects.filter(user=user).exists()
    assert holders("editor") == holders("analytics") == set()
    assert data["messages"][0]["text"] == f"{user.username} is now a portal user."
    again = manager_api.post(url("portal-users/convert/"), {"user": user.pk}, format="json")
    assert again.status_code == 409
    assert "is already a portal user" in again.json()["detail"]


def test_convert_refuses_admin_users_and_unknown_users(manager_api, installed, manager):
    response = manager_api.post(
        url("portal-users/convert/"), {"user": manager.username}, format="json"
    )
    assert response.status_code == 409
    assert "can access the Wagtail admin" in response.json()["detail"]
    response = manager_api.post(url("portal-users/convert/"), {"user": "ghost"}, format="json")
    assert response.status_code == 404 and response.json()["unknown_users"] == ["ghost"]
    response = manager_api.post(url("portal-users/convert/"), {"user": True}, format="json")
    assert response.status_code == 400
    assert not PortalUser.objects.exists()
