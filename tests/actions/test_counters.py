"""The seat counters (``ProductUsage``): every action keeps them equal to the assignments, the
pages read them instead of counting, and ``licensing verify`` finds and repairs drift."""

import random
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from wagtail.models import ModelLogEntry

from tests.support.licenses import product
from tests.support.migrations import run_data_migration
from tests.support.queries import count_queries
from wagtail_licensing import census, operations
from wagtail_licensing.actions import counters
from wagtail_licensing.exceptions import LicensingError, LicensingPermissionDenied
from wagtail_licensing.formats import ImportRow
from wagtail_licensing.models import (
    GroupLicense,
    GroupLicenseError,
    GroupLicenseSource,
    LicenseAssignment,
    LicensedProduct,
    LicensingState,
    ProductUsage,
)

pytestmark = pytest.mark.django_db

CODES = ["editor", "analytics", "occasional", "portal", "gone"]


def assert_counters_are_true(step=""):
    assert counters.drift() == [], step
    assert census.drift() is None, step
    assert counters.license_holders_drift() is None, step
    # and "Add users" counts its candidates from them: exactly, for every product
    for p in LicensedProduct.objects.installed().with_usage():
        assert p.grant_candidate_count() == p.grant_candidates().count(), (step, p.code)
    # and the products read them: used, holders and active holders as counted from scratch
    truth = counters.count()
    for p in LicensedProduct.objects.installed().with_usage():
        expected = truth.get(p.code, counters.Counts())
        assert (p.holders, p.active_holders, p.used) == (
            expected.holders, expected.active_holders, expected.used), (step, p.code)
        # and the seat rule holds: the earliest active holders have the seats there are
        seated = expected.active_holders
        if p.counts_seats:
            seated = min(seated, p.seats)
        assert p.used == seated, (step, p.code)


def assert_group_sources_are_true(step=""):
    """Every inherited assignment has a source, every source a membership and a binding, and
    no member with an error holds the product."""
    through = get_user_model().groups.through
    memberships = set(through.objects.values_list("user_id", "group_id"))
    bound = set(GroupLicense.objects.values_list("group_id", "product_code"))
    held = set(LicenseAssignment.objects.values_list("user_id", "product_code"))
    for user_id, code, group_id in GroupLicenseSource.objects.values_list(
            "user_id", "product_code", "group_id"):
        assert (user_id, group_id) in memberships and (group_id, code) in bound, step
        assert (user_id, code) in held, step
    sourced = set(GroupLicenseSource.objects.values_list("user_id", "product_code"))
    for pair in LicenseAssignment.objects.filter(direct=False).values_list(
            "user_id", "product_code"):
        assert pair in sourced, step
    for pair in GroupLicenseError.objects.values_list("user_id", "product_code"):
        assert pair not in held, step


def files(make_license):
    """Licenses the sequence uploads: seats cut and raised, a product added and removed."""
    return [
        make_license(),
        make_license(products=[product("editor", seats=2), product("analytics", seats=None),
                               product("occasional", "concurrent", 1),
                               product("portal", "portal", 1)]),
        make_license(products=[product("editor", seats=8), product("analytics", seats=3),
                               product("gone", seats=4), product("portal", "portal", 5)]),
    ]


def random_step(rng, users, portal_users, licenses):
    """One random change through the public API; returns a description of it."""
    User = get_user_model()
    pick = rng.sample(users + portal_users, rng.randint(1, 6))
    codes = rng.sample(CODES, rng.randint(1, 2))
    kind = rng.choice(["grant", "grant", "recall", "recall", "import", "deactivate",
                       "reactivate", "bulk_active", "delete_user", "upload", "delete",
                       "portal", "bind", "unbind", "join", "leave", "reprocess",
                       "delete_group"])
    group, _created = Group.objects.get_or_create(name=rng.choice(["Alpha", "Beta"]))
    try:
        if kind == "grant":
            operations.grant(pick, codes)
        elif kind == "recall":
            operations.recall(pick, codes)
        elif kind == "import":
            rows = [ImportRow(number=i + 2, user=u.get_username(), product=rng.choice(CODES),
                              action=rng.choice(["grant", "recall"]))
                    for i, u in enumerate(pick)]
            operations.import_assignments(rows)
        elif kind in ("deactivate", "reactivate"):
            subject = User.objects.get(pk=pick[0].pk)
            subject.is_active = kind == "reactivate"
            subject.save()  # the post_save receiver moves the seats
        elif kind == "bulk_active":  # Wagtail's "Set active state": one UPDATE, then the hook
            active = rng.random() < 0.5
            changed = User.objects.filter(pk__in=[u.pk for u in pick]).exclude(is_active=active)
            keys = list(changed.values_list("pk", flat=True))
            User.objects.filter(pk__in=keys).update(is_active=active)
            operations.users_status_changed(User.objects.filter(pk__in=keys))
        elif kind == "delete_user":
            victim = pick[0]
            User.objects.filter(pk=victim.pk).first() and User.objects.get(pk=victim.pk).delete()
            for pool in (users, portal_users):
                if victim in pool and len(pool) > 2:
                    pool.remove(victim)
        elif kind == "upload":
            operations.install_license_file(rng.choice(licenses))
        elif kind == "delete":
            operations.delete_licenses()
        elif kind == "portal":
            operations.convert_to_portal_user(User.objects.get(pk=rng.choice(users).pk))
        elif kind == "bind":
            operations.bind_group_licenses(group, codes, priority=rng.randint(1, 3))
        elif kind == "unbind":
            operations.unbind_group_licenses(group, codes)
        elif kind == "join":  # both directions of the membership signal
            if rng.random() < 0.5:
                group.user_set.add(*pick)
            else:
                pick[0].groups.add(group)
        elif kind == "leave":
            if rng.random() < 0.5:
                group.user_set.remove(*pick)
            else:
                User.objects.get(pk=pick[0].pk).groups.clear()
        elif kind == "reprocess":
            operations.reprocess_group_licenses(group=group, remove_manual=rng.random() < 0.3)
        elif kind == "delete_group":
            group.delete()
    except LicensingError:
        pass  # refused (not enough seats, demo mode, already installed...): nothing changed
    return f"{kind} {codes} {[u.get_username() for u in pick]}"


@pytest.mark.parametrize("seed", range(6))
def test_counters_equal_the_assignments_after_every_step_of_a_random_sequence(
        seed, make_license, make_users):
    rng = random.Random(seed)
    licenses = files(make_license)
    operations.install_license_file(licenses[0])
    users = make_users(12)
    portal_users = make_users(4, prefix="portal", portal=True)
    operations.grant(users[:3], ["editor"])  # something to recall, however the dice fall
    for number in range(40):
        step = random_step(rng, users, portal_users, licenses)
        assert_counters_are_true(f"seed {seed}, step {number}: {step}")
        assert_group_sources_are_true(f"seed {seed}, step {number}: {step}")


def test_a_grant_moves_the_counters_by_what_it_granted(installed, make_users):
    users = make_users(3)
    operations.grant(users, ["editor", "analytics"])
    operations.grant(users[:1], ["editor"])  # already held: no change
    kept = counters.kept()
    assert kept["editor"] == counters.Counts(holders=3, active_holders=3, used=3)
    assert kept["analytics"] == counters.Counts(3, 3, 3)


def test_a_recall_that_frees_no_seat_for_anyone_touches_only_what_it_recalls(installed,
                                                                            make_users):
    users = make_users(4)
    operations.grant(users, ["editor"])
    with count_queries() as one:
        operations.recall(users[:1], ["editor"])
    with count_queries() as three:
        operations.recall(users[1:], ["editor"])
    # No reallocation (every remaining holder already has a seat), however many are recalled.
    assert len(one) == len(three)
    assert not any("CASE WHEN" in sql for sql in one.sql)
    assert counters.kept()["editor"] == counters.Counts(0, 0, 0)


def test_a_recall_gives_the_freed_seat_to_a_holder_without_one(install, make_users,
                                                             make_license):
    install()
    users = make_users(3)
    operations.grant(users, ["editor"])
    install(products=[product("editor", seats=2)])  # the third holder loses the seat
    assert counters.kept()["editor"] == counters.Counts(3, 3, 2)
    operations.recall(users[:1], ["editor"])
    assert counters.kept()["editor"] == counters.Counts(2, 2, 2)
    assert LicenseAssignment.objects.get(user=users[2]).has_seat


def test_reading_usage_costs_one_query_and_never_scans_the_assignments(installed, make_users):
    operations.grant(make_users(30), ["editor", "analytics"])
    with count_queries() as queries:
        products = list(LicensedProduct.objects.installed().with_usage())
    assert len(queries) == 1
    assert "wagtail_licensing_licenseassignment" not in queries.sql[0]
    assert {p.code: p.used for p in products}["analytics"] == 30


def run(*args):
    out = StringIO()
    call_command("licensing", *args, stdout=out)
    return out.getvalue()


def test_verify_reports_drift_and_fix_repairs_it_once(installed, make_users, superuser):
    users = make_users(3)
    operations.grant(users, ["editor"])
    assert "match the assignments" in run("verify")
    # Site code that bypasses the actions: a bare UPDATE deactivates two holders.
    get_user_model().objects.filter(pk__in=[u.pk for u in users[:2]]).update(is_active=False)
    with pytest.raises(CommandError, match="differ from the assignments.*verify --fix"):
        run("verify")
    assert counters.kept()["editor"].used == 3  # verify alone changes nothing

    output = run("verify", "--fix")
    assert "editor: counted 3 seats used, 3 holders (3 active, 0 of them portal users); the " \
           "assignments say 1, 3 (1 active, 0 portal users)" in output
    # The same UPDATE reached no signal of the census either.
    assert "user census: counted 4 users, 4 active (0 portal users); there are 4, 2 (0)" \
        in output
    assert "Repaired the seat counters of 1 products." in output
    assert "Repaired the user census." in output
    assert census.census() == census.Census(4, 2, 0)
    assert counters.kept()["editor"] == counters.Counts(3, 1, 1)
    entry = ModelLogEntry.objects.get(action=operations.ACTION_REPAIR_COUNTERS)
    assert entry.data["repaired"]["editor"]["actual"]["used"] == 1
    assert "editor" in entry.message
    assert "Repaired the user census: 4 users and 4 active counted (0 portal users); 4 users, " \
        "2 active (0)" in entry.message
    assert "match the assignments" in run("verify")
    assert ModelLogEntry.objects.filter(action=operations.ACTION_REPAIR_COUNTERS).count() == 1


def test_verify_reports_and_repairs_the_count_of_group_bindings(installed, make_users):
    group = Group.objects.create(name="Licensed team")
    group.user_set.add(*make_users(2))
    operations.bind_group_licenses(group, ["editor"])
    assert LicensingState.get().group_bindings == 1
    assert operations.binding_count_drift() is None
    # Behind the actions' back: the count a deactivation reads says nothing is bound.
    LicensingState.objects.update(group_bindings=0)
    with pytest.raises(CommandError, match="count of group bindings differs.*verify --fix"):
        run("verify")
    assert LicensingState.get().group_bindings == 0  # verify alone changes nothing
    output = run("verify", "--fix")
    assert "group bindings: counted 0, there are 1" in output
    assert "Repaired the count of group bindings." in output
    assert "seat counters of 0 products" not in output
    assert LicensingState.get().group_bindings == 1
    entry = ModelLogEntry.objects.get(action=operations.ACTION_REPAIR_COUNTERS)
    assert entry.data["group_bindings"] == {"kept": 0, "actual": 1}
    assert entry.message == "Repaired the count of group bindings: 0 counted, 1 bound"
    assert "match the assignments" in run("verify")


def test_repair_removes_counters_of_codes_nobody_holds_any_more(installed, make_users):
    operations.grant(make_users(2), ["analytics"])
    LicenseAssignment.objects.filter(product_code="analytics").delete()  # behind our back
    assert [d.code for d in operations.counter_drift()] == ["analytics"]
    operations.repair_counters()
    assert not ProductUsage.objects.filter(product_code="analytics").exists()
    assert operations.counter_drift() == []


def test_repair_needs_the_permission_when_a_user_is_given(installed, make_users, editor,
                                                          manager):
    operations.grant(make_users(2), ["analytics"])
    ProductUsage.objects.all().delete()
    with pytest.raises(LicensingPermissionDenied):
        operations.repair_counters(user=editor)
    assert len(operations.counter_drift()) == 1
    assert [d.code for d in operations.repair_counters(user=manager).repaired] == ["analytics"]


def test_the_migration_counts_the_assignments_a_site_already_has(installed, make_users):
    operations.grant(make_users(2), ["editor"])
    ProductUsage.objects.all().delete()
    run_data_migration("0004_usage_counters", "count_usage")
    assert counters.kept() == {"editor": counters.Counts(2, 2, 2)}
