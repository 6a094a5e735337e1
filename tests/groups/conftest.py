"""Fixtures the group licensing tests share."""

import pytest
from django.contrib.auth.models import Group

from tests.support.licenses import DEFAULT_PRODUCTS, product


@pytest.fixture
def writers(make_users):
    """A group "Writers" of four users, user0 to user3, who joined in that order."""
    group = Group.objects.create(name="Writers")
    for user in make_users(4):  # one by one: the seating order is the membership order
        group.user_set.add(user)
    return group


@pytest.fixture
def two_seats(install):
    """A license whose "editor" (CMS editor) has two seats; the other default products."""
    return install(
        products=[product("editor", "named", 2, name="CMS editor"), *DEFAULT_PRODUCTS[1:]]
    )
