"""Racing API grants never give more seats than a product has (PostgreSQL row locks), as the
admin's racing grants (tests/actions/test_concurrency.py). PostgreSQL only; CI runs it there."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import url
from tests.support.licenses import product
from tests.support.races import race
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, ProductUsage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql, pytest.mark.slow,
              pytest.mark.usefixtures("postgresql_only")]


def test_racing_api_grants_for_the_last_seats(install, make_users, manager):
    install(products=[product("editor", seats=2)])
    users = make_users(5)
    secret = operations.create_api_token(owner=manager, name="race", read_only=False).secret

    def grant(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client.post(url("assignments/grant/"),
                           {"users": [users[index].username], "products": ["editor"]},
                           format="json").status_code

    statuses = race(len(users), grant)
    assert sorted(statuses) == [200, 200, 409, 409, 409]
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 2
    assert ProductUsage.objects.get(product_code="editor").used == 2
