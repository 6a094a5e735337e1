"""Group licensing under concurrency (PostgreSQL row locks): members joining bound groups at
once never take more seats than there are, and a binding racing an upload is serialised.

Like tests/actions/test_concurrent_race.py these run only on PostgreSQL.
"""

import pytest
from django.contrib.auth.models import Group

from tests.support.licenses import DEFAULT_PRODUCTS, product
from tests.support.races import race
from wagtail_licensing import operations
from wagtail_licensing.actions import counters
from wagtail_licensing.models import GroupLicenseError, LicenseAssignment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgresql,
    pytest.mark.slow,
    pytest.mark.usefixtures("postgresql_only"),
]


def products_with(seats):
    return [product("editor", "named", seats, name="CMS editor"), *DEFAULT_PRODUCTS[1:]]


def test_members_joining_two_bound_groups_at_once_take_only_the_seats_there_are(
    install, make_users
):
    install(products=products_with(3))
    writers = Group.objects.create(name="Writers")
    reviewers = Group.objects.create(name="Reviewers")
    operations.bind_group_licenses(writers, "editor")
    operations.bind_group_licenses(reviewers, "editor")
    users = make_users(8)

    def join(i):
        users[i].groups.add(writers if i % 2 else reviewers)

    race(8, join)
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 3
    assert GroupLicenseError.objects.filter(product_code="editor").count() == 5
    assert counters.drift() == []


def test_a_binding_racing_an_upload_with_more_seats_ends_with_everyone_seated(
    install, make_license, make_users
):
    install(products=products_with(2))
    writers = Group.objects.create(name="Writers")
    make_users(6, groups=[writers])
    bigger = make_license(products=products_with(10))

    def act(i):
        if i == 0:
            operations.bind_group_licenses(writers, "editor")
        else:
            operations.install_license_file(bigger)

    race(2, act)
    # whichever went first, the second saw its result: 6 seated, no error left
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 6
    assert not GroupLicenseError.objects.exists()
    assert counters.drift() == []
