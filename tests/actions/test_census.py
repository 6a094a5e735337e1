"""The user census (``UserCensus``): kept by the user and portal user signals, equal to a count
of the users after every way an account changes, written once per transaction after it
commits, and found and repaired by ``licensing verify`` when site code went around it."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.urls import reverse

from tests.support.migrations import run_data_migration
from tests.support.queries import count_queries
from tests.support.users import give_license
from wagtail_licensing import census, operations
from wagtail_licensing.models import LicensedProduct, LicensingState, PortalUser, UserCensus

pytestmark = pytest.mark.django_db
User = get_user_model()


def assert_true(step=""):
    assert census.census() == census.count(), step


def active():
    """The kept census's active users and active portal users."""
    kept = census.census()
    return kept.active_users, kept.active_portal_users


def products():
    return LicensedProduct.objects.filter(
        license_file_id=LicensingState.get().installed_file_id).with_usage()


def test_the_census_follows_every_way_an_account_changes(installed, superuser, client):
    assert active() == (1, 0)  # the superuser
    person = User.objects.create_user("person", "person@example.com", "pw")
    User.objects.create_user("idle", "idle@example.com", is_active=False)
    assert active() == (2, 0)
    assert census.census().users == 3  # an inactive account is an account
    person.is_active = False
    person.save()
    assert active() == (1, 0)
    person.is_active = True
    person.save()
    customer = operations.create_portal_user(email="c@example.com", product_codes=["portal"]).user
    assert active() == (3, 1)
    converted = User.objects.create_user("later", "later@example.com")
    operations.convert_to_portal_user(converted)
    assert active() == (4, 2)
    customer.is_active = False
    customer.save()  # an inactive portal user counts in neither
    assert active() == (3, 1)
    customer.delete()
    assert active() == (3, 1)
    converted.delete()  # its portal marker goes first, then the account
    assert active() == (2, 0)
    assert census.census().users == 3
    marked = User.objects.create_user("marked", "marked@example.com")
    PortalUser.objects.create(user=marked)  # site code marking an account
    assert active() == (3, 1)
    PortalUser.objects.filter(user=marked).delete()
    assert active() == (3, 0)
    # Settings > Users' "Set active state": one UPDATE, then the after_bulk_action hook.
    give_license(superuser)
    client.force_login(superuser)
    client.get(reverse("wagtailadmin_home"))  # first request: sent to the License manager
    url = reverse("wagtail_bulk_action", args=["auth", "user", "set_active_state"])
    response = client.post(f"{url}?id={person.pk}&id={marked.pk}&next=/admin/users/",
                           {"mark_as_active": "False"})
    assert response.status_code == 302
    assert active() == (1, 0)
    assert_true()


def test_users_status_changed_moves_the_census_of_the_users_it_is_given(installed, make_users):
    users = make_users(3)
    portal = make_users(2, prefix="customer", portal=True)
    keys = [users[0].pk, portal[0].pk]
    User.objects.filter(pk__in=keys).update(is_active=False)  # site code's own UPDATE
    operations.users_status_changed(User.objects.filter(pk__in=keys))
    assert active() == (3, 1)
    assert_true()


def test_add_users_counts_its_candidates_from_the_census_in_one_query(installed, make_users):
    make_users(5)
    make_users(2, prefix="customer", portal=True)
    for product in products():
        with count_queries() as queries:
            counted = product.grant_candidate_count()
        assert counted == product.grant_candidates().count(), product.code
        assert len(queries) == 1 and "usercensus" in queries.sql[0], queries


@pytest.mark.django_db(transaction=True)
def test_one_transaction_writes_the_census_once_after_it_commits(installed):
    """A directory sync creating many users in one transaction: one UPDATE at commit, not one
    a user; a savepoint rolled back drops its own moves with it."""
    before = census.census()
    with count_queries() as queries:
        with transaction.atomic():
            for i in range(20):
                User.objects.create_user(f"sync{i}", f"sync{i}@example.com")
            try:
                with transaction.atomic():
                    User.objects.create_user("undone", "undone@example.com")
                    raise RuntimeError
            except RuntimeError:
                pass
            assert census.census() == before  # not moved before the commit
    updates = [q for q in queries if q["sql"].startswith("UPDATE") and "usercensus" in q["sql"]]
    assert len(updates) == 1, updates
    assert census.census() == census.Census(before.users + 20, before.active_users + 20,
                                            before.active_portal_users)
    assert_true()


def test_a_census_that_cannot_be_written_is_logged_and_changes_nothing_else(
        installed, monkeypatch, caplog):
    from django.db import DatabaseError

    def refuse(*args, **kwargs):
        raise DatabaseError("census row locked out")

    monkeypatch.setattr(census.UserCensus.objects, "filter",
                        lambda *a, **k: type("Q", (), {"update": refuse})())
    person = User.objects.create_user("person", "person@example.com")  # no error
    assert User.objects.filter(pk=person.pk).exists()
    assert "Could not update the user census" in caplog.text


def test_a_missing_census_row_is_counted_when_read(installed, make_users):
    make_users(3)
    UserCensus.objects.all().delete()
    User.objects.create_user("more", "more@example.com")  # nothing to move yet
    assert census.census() == census.count() == census.Census(4, 4, 0)


def test_verify_reports_the_census_drift_and_fix_repairs_it(installed, make_users):
    make_users(3)
    User.objects.bulk_create([User(username="synced", email="synced@example.com")])  # no signal
    out = StringIO()
    with pytest.raises(CommandError, match="user census differs from the users.*verify --fix"):
        call_command("licensing", "verify", stdout=out)
    assert "user census: counted 3 users, 3 active (0 portal users); there are 4, 4 (0)" \
        in out.getvalue()
    assert active() == (3, 0)  # verify alone changes nothing
    out = StringIO()
    call_command("licensing", "verify", "--fix", stdout=out)
    assert "Repaired the user census." in out.getvalue()
    assert active() == (4, 0)
    out = StringIO()
    call_command("licensing", "verify", stdout=out)
    assert "match the assignments" in out.getvalue()


def test_the_migration_counts_what_a_site_already_has(installed, make_users):
    from wagtail_licensing.actions import counters

    operations.grant(make_users(3), ["editor"])
    customers = make_users(2, prefix="customer", portal=True)
    operations.grant(customers, ["portal"])
    make_users(1, prefix="gone", active=False)
    UserCensus.objects.all().delete()
    counters.ProductUsage.objects.update(active_portal_holders=0)
    LicensingState.objects.update(license_holders=0)
    run_data_migration("0013_user_census", "count")
    assert census.census() == census.Census(6, 5, 2)
    assert LicensingState.get().license_holders == 5
    assert counters.kept()["portal"].active_portal == 2
    assert counters.kept()["editor"].active_portal == 0
    assert counters.drift() == []


def test_a_holder_site_code_marks_as_portal_user_moves_the_counters(installed, make_users):
    from wagtail_licensing.actions import counters
    from wagtail_licensing.models import LicenseAssignment

    (person,) = make_users(1)
    LicenseAssignment.objects.create(user=person, product_code="portal")  # the wrong kind
    operations.repair_counters()
    PortalUser.objects.create(user=person)  # now the right kind: an active portal holder
    assert counters.kept()["portal"].active_portal == 1
    assert counters.drift() == []
    for product in products():
        assert product.grant_candidate_count() == product.grant_candidates().count()
    PortalUser.objects.filter(user=person).delete()
    assert counters.kept()["portal"].active_portal == 0
    assert counters.drift() == [] and census.drift() is None


@pytest.mark.django_db(transaction=True)
def test_a_census_move_that_fails_leaves_the_other_after_commit_work_alone(
        installed, monkeypatch, caplog):
    """Django logs a robust callback's failure by its name: the move has one, so the callbacks
    after it (the licensing version's publication) still run."""
    UserCensus.objects.all().delete()

    def broken():
        raise RuntimeError("census unreadable")

    monkeypatch.setattr(census, "census", broken)
    ran = []
    with transaction.atomic():
        User.objects.create_user("person", "person@example.com")
        transaction.on_commit(lambda: ran.append("after"))
    assert ran == ["after"]
    assert "Error calling wagtail_licensing.census._Move" in caplog.text


def test_deleting_a_user_loaded_before_its_deactivation_counts_it_once(installed):
    person = User.objects.create_user("person", "person@example.com")
    loaded_before = User.objects.get(pk=person.pk)
    person.is_active = False
    person.save()
    loaded_before.delete()  # its is_active says True: the stored one says False
    assert_true()


def test_marking_a_user_who_holds_nothing_takes_no_licensing_lock(installed):
    person = User.objects.create_user("person", "person@example.com")
    with count_queries() as queries:
        PortalUser.objects.create(user=person)
    # The lock (LicensingState.lock() reads the row with its installed file); the access
    # epoch renewed after commit is not a lock.
    locks = [sql for sql in queries.sql
             if sql.startswith("SELECT") and "licensingstate" in sql and "licensefile" in sql]
    assert locks == [], queries
    assert_true()
