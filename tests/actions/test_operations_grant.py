"""Granting and recalling (seat rules 1-3), and seats following users' status."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from wagtail.models import ModelLogEntry

from tests.support.licenses import product, today
from tests.support.queries import count_queries
from wagtail_licensing import operations, wording
from wagtail_licensing.actions.results import GrantRefusalReason
from wagtail_licensing.exceptions import GrantError
from wagtail_licensing.models import AssignmentSource, LicenseAssignment, LicensingState
from wagtail_licensing.status import installed_products

pytestmark = pytest.mark.django_db


def holders(code):
    return set(LicenseAssignment.objects.filter(product_code=code).values_list(
        "user__username", flat=True))


def usage(code):
    return installed_products().get(code=code)


def test_grant_gives_seats_and_logs(installed, make_users, manager):
    users = make_users(3)
    result = operations.grant(users, ["editor"], user=manager, source=AssignmentSource.BULK)
    assert result.granted == {"editor": [u.username for u in users]}
    assert not result.refused
    assert holders("editor") == {u.username for u in users}
    assignment = LicenseAssignment.objects.get(user=users[0])
    assert assignment.granted_by == manager and assignment.source == "bulk"
    assert assignment.has_seat
    assert usage("editor").used == 3 and usage("editor").available == 2
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.grant")
    assert entry.user == manager
    assert entry.message == "Granted licenses to 3 users: editor (3)"
    assert entry.data["granted"]["editor"]["users"] == [u.username for u in users]
    assert any("Granted CMS editor (editor) to 3 users" in text
               for _level, text in wording.messages(result))


def test_inactive_users_use_no_seat_and_keep_assignments(installed, make_users):
    users = make_users(5)
    operations.grant(users, ["editor"])
    assert usage("editor").available == 0
    users[0].is_active = False
    users[0].save()
    assert usage("editor").used == 4 and usage("editor").available == 1
    assert LicenseAssignment.objects.filter(user=users[0]).exists()
    assert ModelLogEntry.objects.filter(action="wagtail_licensing.user_status").exists()
    # The freed seat can be granted to somebody else at once.
    newcomer = make_users(1, prefix="new")
    assert operations.grant(newcomer, ["editor"]).granted == {"editor": ["new0"]}


def test_reactivated_user_gets_seat_back_by_grant_order(installed, make_users):
    users = make_users(5)
    for user in users:
        operations.grant([user], ["editor"])
    users[0].is_active = False
    users[0].save()
    newcomer = make_users(1, prefix="new")[0]
    operations.grant([newcomer], ["editor"])
    users[0].is_active = True
    users[0].save()
    # The earliest-granted five hold the seats: the newcomer is now the one without.
    assert not LicenseAssignment.objects.get(user=newcomer).has_seat
    assert usage("editor").over_allocated


def test_unlimited_products_count_nothing(installed, make_users):
    users = make_users(40)
    result = operations.grant(users, ["analytics"])
    assert len(result.granted["analytics"]) == 40
    assert usage("analytics").available is None


def test_all_or_nothing_per_product(installed, make_users):
    users = make_users(6)
    result = operations.grant(users, ["editor", "analytics"])
    assert "editor" in result.refused
    refusal = result.refused["editor"]
    assert refusal.reason == GrantRefusalReason.NOT_ENOUGH_SEATS
    assert (refusal.needed, refusal.available, refusal.seats) == (6, 5, 5)
    reason = wording.refusal_text(refusal)
    assert "CMS editor (editor)" in reason
    assert "6 seats are needed" in reason and "5 of 5 are available" in reason
    assert holders("editor") == set()
    assert len(result.granted["analytics"]) == 6


def test_users_already_holding_are_skipped_and_need_no_seat(installed, make_users):
    users = make_users(5)
    operations.grant(users[:4], ["editor"])
    result = operations.grant(users, ["editor"])  # 1 new, 4 already: 1 seat left is enough
    assert result.granted == {"editor": [users[4].username]}
    assert result.already["editor"] == [u.username for u in users[:4]]
    assert any("already hold" in text for _level, text in wording.messages(result))


def test_inactive_users_are_skipped_and_reported(installed, make_users):
    active = make_users(2)
    inactive = make_users(2, prefix="gone", active=False)
    result = operations.grant(active + inactive, ["editor"])
    assert result.granted["editor"] == [u.username for u in active]
    assert result.inactive == ["gone0", "gone1"]
    assert any("inactive" in text and "gone0" in text for _level, text in wording.messages(result))
    assert holders("editor") == {"user0", "user1"}


def test_portal_products_only_for_portal_users_and_back(installed, make_users):
    staff = make_users(2)
    portal = make_users(2, prefix="customer", portal=True)
    result = operations.grant(staff + portal, ["portal", "editor"])
    assert result.granted["portal"] == ["customer0", "customer1"]
    assert result.wrong_type["portal"] == ["user0", "user1"]
    assert result.granted["editor"] == ["user0", "user1"]
    assert result.wrong_type["editor"] == ["customer0", "customer1"]
    texts = " ".join(text for _level, text in wording.messages(result))
    assert "only portal users can hold" in texts and "portal users cannot hold" in texts


def test_product_outside_validity_cannot_be_granted(install, make_users):
    install(products=[
        product("later", valid_from=today() + timedelta(days=2),
                valid_until=today() + timedelta(days=20)),
        product("editor"),
    ])
    users = make_users(1)
    result = operations.grant(users, ["later", "editor"])
    assert result.refused["later"].reason == GrantRefusalReason.NOT_GRANTABLE
    assert "cannot be granted today" in wording.refusal_text(result.refused["later"])
    assert result.granted["editor"] == ["user0"]


def test_unknown_product_is_refused(installed, make_users):
    result = operations.grant(make_users(1), ["nope"])
    assert result.refused["nope"].reason == GrantRefusalReason.NOT_INSTALLED
    assert "not a product of the installed license" in wording.refusal_text(
        result.refused["nope"])
    assert not LicenseAssignment.objects.exists()


def test_grant_in_demo_mode_is_an_error(make_users):
    with pytest.raises(GrantError, match="demo mode"):
        operations.grant(make_users(1), ["editor"])


def test_nothing_granted_writes_no_log_and_keeps_version(installed, make_users):
    version = LicensingState.get().version
    operations.grant(make_users(6), ["editor"])  # refused
    assert LicensingState.get().version == version
    assert not ModelLogEntry.objects.filter(action="wagtail_licensing.grant").exists()


def test_concurrent_products_are_not_limited_by_seats(installed, make_users):
    # Concurrent seats limit simultaneous sessions, not who may hold the product.
    result = operations.grant(make_users(10), ["occasional"])
    assert len(result.granted["occasional"]) == 10
    assert usage("occasional").available == 2


def test_recall_frees_seats_and_logs(installed, make_users, manager):
    users = make_users(5)
    operations.grant(users, ["editor"])
    result = operations.recall(users[:2], ["editor"], user=manager)
    assert result.recalled == {"editor": ["user0", "user1"]}
    assert usage("editor").available == 2
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.recall")
    assert entry.message == "Recalled licenses from 2 users: editor (2)"
    assert entry.user == manager


def test_recall_of_what_is_not_held_changes_nothing(installed, make_users):
    users = make_users(2)
    version = LicensingState.get().version
    result = operations.recall(users, ["editor"])
    assert result.recalled == {}
    assert LicensingState.get().version == version
    assert not ModelLogEntry.objects.filter(action="wagtail_licensing.recall").exists()
    assert any("nothing was recalled" in text for _level, text in wording.messages(result))


def test_recall_works_in_demo_mode_and_for_removed_products(install, make_users):
    users = make_users(2)
    install()
    operations.grant(users, ["editor"])
    operations.delete_licenses()
    assert operations.recall(users, ["editor"]).recalled == {"editor": ["user0", "user1"]}


def test_deleting_a_user_removes_assignments_and_logs(installed, make_users):
    users = make_users(2)
    operations.grant(users, ["editor"])
    users[0].delete()
    assert holders("editor") == {"user1"}
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.user_status")
    assert entry.data["event"] == "deleted"
    assert "user0" in entry.message


def test_grant_accepts_a_queryset_and_primary_keys(installed, make_users):
    users = make_users(3)
    User = get_user_model()
    operations.grant(User.objects.filter(username__in=["user0", "user1"]), ["editor"])
    operations.grant([users[2].pk], ["editor"])
    assert holders("editor") == {"user0", "user1", "user2"}


def queries_of(fn):
    with count_queries() as queries:
        fn()
    return len(queries)


@pytest.mark.parametrize("op", ["grant", "recall"])
def test_query_count_does_not_grow_with_users(install, make_users, op):
    install(products=[product("editor", seats=None), product("analytics", seats=5000)])
    User = get_user_model()
    small = make_users(5, prefix="small")
    large = make_users(1500, prefix="large")
    small_qs = User.objects.filter(username__startswith="small")
    large_qs = User.objects.filter(username__startswith="large")
    if op == "recall":
        operations.grant(small_qs, ["editor", "analytics"])
        operations.grant(large_qs, ["editor", "analytics"])
    fn = getattr(operations, op)
    small_count = queries_of(lambda: fn(small_qs, ["editor", "analytics"]))
    large_count = queries_of(lambda: fn(large_qs, ["editor", "analytics"]))
    assert small_count == large_count
    expected = {"grant": len(small) + len(large), "recall": 0}[op]
    assert LicenseAssignment.objects.filter(product_code="editor").count() == expected


def test_validity_days_are_the_sites_whatever_time_zone_the_manager_uses(install, make_users):
    """Wagtail activates each admin user's time zone; licensing days stay the site's."""
    from datetime import UTC, date, datetime
    from unittest import mock

    from django.utils import timezone as django_timezone

    now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # London: the 28th; Kiritimati: the 29th
    with mock.patch("django.utils.timezone.now", return_value=now):
        install(products=[product("editor", valid_from=date(2026, 11, 1),
                                  valid_until=date(2026, 11, 28))])
        with django_timezone.override("Pacific/Kiritimati"):
            result = operations.grant(make_users(1), ["editor"])
            assert usage("editor").status == "expiring"
    assert result.granted == {"editor": ["user0"]}
