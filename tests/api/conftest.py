import pytest
from rest_framework.test import APIClient

from wagtail_licensing import operations


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def manager_api(api, manager):
    api.force_login(manager)
    return api


def url(name):
    return f"/api/licensing/v1/{name}"


@pytest.fixture
def token_for(db):
    """A live API token for a user: its secret."""

    def make(user, read_only=False):
        return operations.create_api_token(owner=user, name="test", read_only=read_only).secret

    return make
