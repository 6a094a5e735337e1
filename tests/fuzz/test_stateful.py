"""A stateful fuzz of licensing: random sequences of grants, recalls, imports, deactivations,
uploads and deletions through the public API. After every step no product holds more seats
than it has, the kept counters equal the assignments, and a refused step changed nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.support.licenses import product
from wagtail_licensing import census, operations
from wagtail_licensing.exceptions import LicensingError
from wagtail_licensing.formats import ImportRow
from wagtail_licensing.models import LicenseAssignment, LicensedProduct, LicensingState

from ..actions.test_counters import CODES, assert_counters_are_true

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # make test and the PostgreSQL run

USERS = 8


def snapshot() -> tuple:
    """Everything a refused step must leave as it was."""
    state = LicensingState.get()
    return (state.installed_file_id, state.version,
            sorted(LicenseAssignment.objects.values_list("user__username", "product_code",
                                                         "has_seat", "source")))


class Licensing(RuleBasedStateMachine):
    licenses: list[str] = []  # signed files to upload, set by the test
    seen = {"refused": 0, "full": 0}  # over all runs: the sequences did reach the edges

    def __init__(self) -> None:
        super().__init__()
        # Each run starts from the test's database and leaves it as it found it.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        operations.install_license_file(self.licenses[0])
        User = get_user_model()
        User.objects.bulk_create(User(username=f"fuzz{i}", email=f"fuzz{i}@example.com")
                                 for i in range(USERS))
        census.store(census.count())  # bulk_create reaches no signal
        self.users = list(User.objects.filter(username__startswith="fuzz").order_by("pk"))

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def attempt(self, step) -> None:
        before = snapshot()
        try:
            step()
        except LicensingError as refused:
            assert str(refused)
            assert snapshot() == before, f"a refusal changed licensing: {refused}"
            self.seen["refused"] += 1

    people = st.lists(st.integers(0, USERS - 1), min_size=1, max_size=5, unique=True)
    codes = st.lists(st.sampled_from(CODES), min_size=1, max_size=2, unique=True)

    def pick(self, indexes: list[int]) -> list:
        return [self.users[i] for i in indexes]

    @rule(who=people, codes=codes)
    def grant(self, who, codes):
        self.attempt(lambda: operations.grant(self.pick(who), codes))

    @rule(who=people, codes=codes)
    def recall(self, who, codes):
        self.attempt(lambda: operations.recall(self.pick(who), codes))

    @rule(rows=st.lists(st.tuples(st.integers(0, USERS - 1), st.sampled_from(CODES),
                                  st.sampled_from(["grant", "recall"])), min_size=1, max_size=8))
    def import_rows(self, rows):
        self.attempt(lambda: operations.import_assignments([
            ImportRow(number=i + 2, user=self.users[u].username, product=code, action=action)
            for i, (u, code, action) in enumerate(rows)]))

    @rule(who=st.integers(0, USERS - 1), active=st.booleans())
    def set_active(self, who, active):
        user = get_user_model().objects.get(pk=self.users[who].pk)
        user.is_active = active
        self.attempt(user.save)  # the post_save receiver moves the seats

    @rule(which=st.integers(0, 2))
    def upload(self, which):
        self.attempt(lambda: operations.install_license_file(self.licenses[which]))

    @rule()
    def delete(self):
        self.attempt(operations.delete_licenses)

    @invariant()
    def no_product_holds_more_seats_than_it_has(self):
        for item in LicensedProduct.objects.installed():
            if item.counts_seats:
                held = LicenseAssignment.objects.filter(product_code=item.code, has_seat=True,
                                                        user__is_active=True).count()
                assert held <= item.seats, (item.code, held, item.seats)
                self.seen["full"] += held == item.seats

    @invariant()
    def counters_are_true(self):
        assert_counters_are_true()


def test_random_sequences_of_licensing_steps(make_license):
    Licensing.licenses = [
        make_license(),
        make_license(products=[product("editor", seats=2), product("analytics", seats=1),
                               product("occasional", "concurrent", 1),
                               product("portal", "portal", 1)]),
        make_license(products=[product("editor", seats=6), product("gone", seats=3),
                               product("portal", "portal", 4)]),
    ]
    run_state_machine_as_test(Licensing, settings=settings(
        max_examples=max(settings().max_examples // 6, 10), stateful_step_count=25))
    # The runs met refusals (not enough seats, demo mode...) and products with every seat taken.
    assert Licensing.seen["refused"] > 0 and Licensing.seen["full"] > 0, Licensing.seen
