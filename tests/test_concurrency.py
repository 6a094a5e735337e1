"""Seat rule 4: racing grants never oversell a product (PostgreSQL row locks).

SQLite serialises writers itself; the race that matters is on PostgreSQL, so these tests run
only there (CI runs the suite on both).
"""

import threading

import pytest
from django.db import connection

from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment

from .conftest import product

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the race needs a real PostgreSQL server (set DATABASE_URL)")


def race(count, target):
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_racing_grants_for_the_last_seats_never_oversell(install, make_users):
    install(products=[product("editor", seats=5)])
    users = make_users(12)
    results = race(12, lambda i: operations.grant([users[i]], ["editor"]))
    granted = [r for r in results if r.granted.get("editor")]
    refused = [r for r in results if "editor" in r.refused]
    assert len(granted) == 5
    assert len(refused) == 7
    assert LicenseAssignment.objects.filter(product_code="editor", has_seat=True).count() == 5


def test_racing_bulk_grants_are_all_or_nothing(install, make_users):
    install(products=[product("editor", seats=10)])
    users = make_users(24)
    batches = [users[i * 4:(i + 1) * 4] for i in range(6)]
    results = race(6, lambda i: operations.grant(batches[i], ["editor"]))
    granted = [r for r in results if r.granted.get("editor")]
    assert len(granted) == 2  # 2 x 4 = 8 of 10 seats; a third batch of 4 does not fit
    assert LicenseAssignment.objects.count() == 8
