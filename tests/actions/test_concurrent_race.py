"""Racing logins never take more concurrent slots than a product has (PostgreSQL row locks).

Like tests/actions/test_concurrency.py these run only on PostgreSQL (CI runs the suite on both).
"""

import time

import pytest

from tests.support.licenses import product
from tests.support.races import race
from wagtail_licensing import operations
from wagtail_licensing.exceptions import NoFreeSlot
from wagtail_licensing.models import ConcurrentSession

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql, pytest.mark.slow,
              pytest.mark.usefixtures("postgresql_only")]


@pytest.fixture(autouse=True)
def _slow_insert(monkeypatch):
    """Widen the window between counting the slots and taking one, so that without the lock
    every racer would count the same free slot."""
    manager = ConcurrentSession.objects
    create = manager.create

    def slow_create(**kwargs):
        time.sleep(0.2)
        return create(**kwargs)

    monkeypatch.setattr(manager, "create", slow_create)


def take(user, token):
    try:
        return operations.take_concurrent_slot(user, ["occasional"], token=token)
    except NoFreeSlot:
        return None


def test_racing_logins_for_the_last_slot(install, make_users):
    install(products=[product("occasional", "concurrent", 3)])
    users = make_users(10)
    operations.grant(users, ["occasional"])
    take(users[0], "first")
    take(users[1], "second")  # one slot left
    results = race(8, lambda i: take(users[i + 2], f"racer-{i}"))
    assert len([r for r in results if r is not None]) == 1
    assert ConcurrentSession.objects.filter(product_code="occasional").count() == 3


def test_racing_logins_fill_every_slot_exactly(install, make_users):
    install(products=[product("occasional", "concurrent", 4)])
    users = make_users(12)
    operations.grant(users, ["occasional"])
    results = race(12, lambda i: take(users[i], f"racer-{i}"))
    assert len([r for r in results if r is not None]) == 4
    assert ConcurrentSession.objects.count() == 4
