"""Seat rule 4: racing grants never oversell a product (PostgreSQL row locks).

SQLite serialises writers itself; the race that matters is on PostgreSQL, so these tests run
only there (CI runs the suite on both).
"""

import pytest

from tests.support.licenses import product
from tests.support.races import race
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql, pytest.mark.slow,
              pytest.mark.usefixtures("postgresql_only")]


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
