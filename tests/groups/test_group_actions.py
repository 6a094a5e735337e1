"""Group-based licensing through the actions: bindings seat members in order, sources count one
seat, errors are recorded and resolved by installs, recalls and reprocessing."""

import pytest
from django.contrib.auth.models import Group
from wagtail.models import ModelLogEntry

from tests.support.licenses import DEFAULT_PRODUCTS, product
from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.actions import counters
from wagtail_licensing.exceptions import LicensingPermissionDenied
from wagtail_licensing.models import (
    GroupLicenseError,
    GroupLicenseErrorReason,
    GroupLicenseSource,
    LicenseAssignment,
    LicensingState,
)

pytestmark = pytest.mark.django_db


def holders(code):
    return set(
        LicenseAssignment.objects.filter(product_code=code).values_list("user__username", flat=True)
    )


def errors(code="editor"):
    return set(
        GroupLicenseError.objects.filter(product_code=code).values_list("user__username", flat=True)
    )


def join(group, users):
    """Add members one by one: the seating order is the order of the memberships (one
    ``user_set.add(*users)`` call adds them in no particular order)."""
    for user in users:
        group.user_set.add(user)
    return users


def products_with(editor_seats):
    return [product("editor", "named", editor_seats, name="CMS editor"), *DEFAULT_PRODUCTS[1:]]


@pytest.fixture
def editors():
    return Group.objects.create(name="Writers")


@pytest.fixture
def moderators():
    return Group.objects.create(name="Reviewers")


def test_binding_seats_every_member_and_counts_one_seat_each(installed, make_users, editors):
    users = make_users(3, groups=[editors])
    result = operations.bind_group_licenses(editors, "editor")
    assert result.bound == ["editor"]
    assert result.changes.granted == {"editor": 3}
    assert holders("editor") == {u.username for u in users}
    assert not LicenseAssignment.objects.filter(direct=True).exists()
    assert counters.drift() == []
    assert counters.kept(["editor"])["editor"].used == 3


def test_too_few_seats_seat_in_priority_then_membership_order(
    install, make_users, editors, moderators
):
    install(products=products_with(3))
    late_editors = make_users(2, prefix="ed")  # joined Editors first: earliest memberships
    join(editors, late_editors)
    mods = join(moderators, make_users(3, prefix="mod"))
    operations.bind_group_licenses(editors, "editor", priority=20)
    assert holders("editor") == {"ed0", "ed1"}
    result = operations.bind_group_licenses(moderators, "editor", priority=10)
    # one seat left: the first moderator by membership; the other two wait, with an error
    assert holders("editor") == {"ed0", "ed1", "mod0"}
    assert errors() == {"mod1", "mod2"}
    assert result.changes.errors == {"editor": 2}
    error = GroupLicenseError.objects.get(user=mods[1])
    assert error.reason == GroupLicenseErrorReason.NOT_ENOUGH_SEATS
    assert error.group == moderators
    # reprocessing everything changes nothing: who holds a seat keeps it
    operations.reprocess_group_licenses()
    assert errors() == {"mod1", "mod2"}
    assert counters.drift() == []


def test_installing_more_seats_resolves_the_errors(install, make_users, editors):
    install(products=products_with(2))
    make_users(4, groups=[editors])
    operations.bind_group_licenses(editors, "editor")
    assert len(errors()) == 2
    install(products=products_with(10))
    assert errors() == set()
    assert len(holders("editor")) == 4
    assert counters.drift() == []


def test_recalling_a_seat_gives_it_to_a_waiting_member(install, make_users, editors):
    install(products=products_with(2))
    direct = make_users(1, prefix="direct")
    operations.grant(direct, "editor")
    join(editors, make_users(3))
    operations.bind_group_licenses(editors, "editor")
    assert errors() == {"user1", "user2"}
    operations.recall(direct, "editor")
    assert errors() == {"user2"}
    assert holders("editor") == {"user0", "user1"}
    assert counters.drift() == []


def test_direct_and_inherited_hold_one_seat_and_recall_keeps_the_inherited(
    installed, make_users, editors, moderators
):
    (user,) = make_users(1, groups=[editors, moderators])
    operations.grant([user], "editor")
    operations.bind_group_licenses(editors, "editor")
    operations.bind_group_licenses(moderators, "editor")
    assert GroupLicenseSource.objects.filter(user=user).count() == 2
    assert counters.kept(["editor"])["editor"].used == 1
    result = operations.recall([user], "editor")
    assert result.kept_via_group == {"editor": [user.username]}
    assignment = LicenseAssignment.objects.get(user=user)
    assert not assignment.direct
    # leaving one group keeps the seat the other gives; leaving both removes it
    user.groups.remove(editors)
    assert holders("editor") == {user.username}
    user.groups.remove(moderators)
    assert holders("editor") == set()
    assert counters.drift() == []


def test_a_direct_grant_survives_leaving_the_group(installed, make_users, editors):
    (user,) = make_users(1, groups=[editors])
    operations.bind_group_licenses(editors, "editor")
    result = operations.grant([user], "editor")
    assert result.via_group == {"editor": [user.username]}
    user.groups.clear()
    assert LicenseAssignment.objects.get(user=user).direct
    assert not GroupLicenseSource.objects.exists()


def test_membership_changes_in_both_directions(installed, make_users, editors):
    operations.bind_group_licenses(editors, "editor")
    a, b, c = make_users(3)
    a.groups.add(editors)  # forward
    editors.user_set.add(b, c)  # reverse
    assert holders("editor") == {a.username, b.username, c.username}
    editors.user_set.remove(b)
    assert holders("editor") == {a.username, c.username}
    editors.user_set.clear()
    assert holders("editor") == set()
    a.groups.set([editors])
    assert holders("editor") == {a.username}
    assert counters.drift() == []


def test_a_user_created_in_a_group_holds_its_products(installed, editors, django_user_model):
    operations.bind_group_licenses(editors, "editor")
    user = django_user_model.objects.create_user("newbie", "n@example.com", "pw")
    user.groups.add(editors)
    assert holders("editor") == {"newbie"}


def test_unbinding_and_deleting_the_group_free_what_only_it_gave(
    installed, make_users, editors, moderators
):
    both, only = make_users(2, groups=[editors])
    moderators.user_set.add(both)
    operations.bind_group_licenses(editors, ["editor", "analytics"])
    operations.bind_group_licenses(moderators, "analytics")
    operations.unbind_group_licenses(editors, "analytics")
    assert holders("analytics") == {both.username}
    moderators.delete()
    assert holders("analytics") == set()
    assert holders("editor") == {both.username, only.username}
    assert counters.drift() == []


def test_portal_members_get_an_eligibility_error_and_inactive_members_none(
    installed, make_users, editors
):
    make_users(1, prefix="portal", portal=True, groups=[editors])
    make_users(1, prefix="gone", active=False, groups=[editors])
    operations.bind_group_licenses(editors, "editor")
    assert {(e.user.username, e.reason) for e in GroupLicenseError.objects.all()} == {
        ("portal0", GroupLicenseErrorReason.NOT_ELIGIBLE)
    }


def test_deactivation_frees_the_inherited_seat_for_a_waiting_member(install, make_users, editors):
    install(products=products_with(1))
    first, second = join(editors, make_users(2))
    operations.bind_group_licenses(editors, "editor")
    assert errors() == {second.username}
    first.is_active = False
    first.save()  # the seat it frees goes to the member waiting for one
    assert errors() == set()
    assert holders("editor") == {first.username, second.username}
    assert counters.kept(["editor"])["editor"].used == 1
    assert LicenseAssignment.objects.get(user=second).has_seat
    assert counters.drift() == []


def test_a_member_reactivated_gets_the_groups_products(installed, make_users, editors):
    (user,) = make_users(1, active=False, groups=[editors])
    operations.bind_group_licenses(editors, "analytics")
    assert holders("analytics") == set()
    user.is_active = True
    user.save()
    assert holders("analytics") == {user.username}


def test_reprocess_removing_manual_grants_makes_them_inherited(installed, make_users, editors):
    (user,) = make_users(1, groups=[editors])
    operations.grant([user], "editor")
    operations.bind_group_licenses(editors, "editor")
    operations.reprocess_group_licenses(group=editors)
    assert LicenseAssignment.objects.get(user=user).direct
    result = operations.reprocess_group_licenses(group=editors, remove_manual=True)
    assert result.changes.made_inherited == {"editor": 1}
    user.groups.remove(editors)
    assert holders("editor") == set()


def test_preview_says_seats_needed_available_and_who_is_left(install, make_users, editors):
    install(products=products_with(2))
    join(editors, make_users(4))
    (preview,) = operations.preview_group_binding(editors, "editor")
    assert (preview.members, preview.needed, preview.available, preview.left_without) == (
        4,
        4,
        2,
        2,
    )
    assert preview.left_names == ["user2", "user3"]
    assert not LicenseAssignment.objects.exists()


def test_binding_is_audited_with_the_group_and_runs_the_hook(installed, make_users, editors):
    make_users(2, groups=[editors])
    seen = []
    from wagtail import hooks

    with hooks.register_temporarily(
        "after_group_licenses_changed", lambda user, result: seen.append(result)
    ):
        operations.bind_group_licenses(editors, "editor")
    assert seen and seen[0].changes.granted == {"editor": 2}
    entry = ModelLogEntry.objects.filter(action="wagtail_licensing.group_licenses").get()
    assert entry.data["groups"] == ["Writers"]
    assert entry.data["granted"] == {"editor": 2}


def test_binding_needs_the_permission(installed, editors, editor):
    with pytest.raises(LicensingPermissionDenied):
        operations.bind_group_licenses(editors, "editor", user=editor)


def test_binding_a_10000_member_group_costs_as_many_queries_as_a_10_member_one(
    installed, make_users, editors, moderators
):
    make_users(10, prefix="small", groups=[moderators])
    with count_queries() as small:
        operations.bind_group_licenses(moderators, "analytics")
    make_users(2000, prefix="big", groups=[editors])
    with count_queries() as big:
        operations.bind_group_licenses(editors, "analytics")
    assert len(big) == len(small)
    with count_queries() as reprocess:
        operations.reprocess_group_licenses(group=editors)
    assert len(holders("analytics")) == 2010
    assert len(reprocess) <= len(big)


def test_a_single_user_joining_adds_a_constant_number_of_queries(installed, make_users, editors):
    operations.bind_group_licenses(editors, "analytics")
    make_users(200, groups=[editors])
    a, b = make_users(2, prefix="late")
    with count_queries() as first:
        a.groups.add(editors)
    make_users(800, groups=[editors])
    with count_queries() as second:
        b.groups.add(editors)
    assert len(first) == len(second)
    assert len(first) <= 30


def _status_change_queries(user):
    with count_queries() as off:
        user.is_active = False
        user.save()
    with count_queries() as on:
        user.is_active = True
        user.save()
    return len(off), len(on)


def test_deactivation_costs_no_group_query_while_no_product_is_bound(
    installed, make_users, editors, moderators
):
    [user] = make_users(1, prefix="solo")
    unbound = _status_change_queries(user)
    # As before group licensing (no query for it), with the user census's two: is the user a
    # portal user, and the census moved after commit.
    assert unbound == (11, 11)
    operations.bind_group_licenses(editors, "analytics")
    operations.bind_group_licenses(moderators, ["analytics", "editor"])
    assert LicensingState.get().group_bindings == 3
    # Bound products: one query finds that none of the user's groups is bound.
    assert _status_change_queries(user) == (unbound[0] + 1, unbound[1] + 1)
    operations.unbind_group_licenses(moderators, "editor")
    assert LicensingState.get().group_bindings == 2
    moderators.delete()
    assert LicensingState.get().group_bindings == 1
    operations.unbind_group_licenses(editors, "analytics")
    assert LicensingState.get().group_bindings == 0
    assert _status_change_queries(user) == unbound
