"""Group licensing calls the grant and recall hooks with the source "group": who was given or
lost an assignment, for every event that creates or removes one; the usernames are read only
when such a hook is registered, in a constant number of queries."""

import contextlib

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from wagtail import hooks

from tests.support.licenses import DEFAULT_PRODUCTS, product
from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.exceptions import LicensingError
from wagtail_licensing.models import GroupLicense, GroupLicenseError, LicenseAssignment

pytestmark = pytest.mark.django_db

GRANTED, RECALLED = operations.AFTER_LICENSES_GRANTED, operations.AFTER_LICENSES_RECALLED
GROUP = operations.LicenseSource.GROUP


class Calls(list):
    """The grant and recall hook calls, as (hook name, result)."""

    def of(self, name):
        return [result for called, result in self if called == name]

    def granted(self):
        """Usernames per code of every grant result with the source "group"."""
        return _merged(self.of(GRANTED), "granted")

    def recalled(self):
        return _merged(self.of(RECALLED), "recalled")


def _merged(results, attribute):
    merged = {}
    for result in results:
        if result.source == GROUP:
            for code, names in getattr(result, attribute).items():
                merged.setdefault(code, set()).update(names)
    return merged


@contextlib.contextmanager
def recording(*names):
    calls = Calls()
    with contextlib.ExitStack() as stack:
        for name in names or (GRANTED, RECALLED):
            stack.enter_context(hooks.register_temporarily(
                name, lambda user, result, name=name: calls.append((name, result))))
        yield calls


def holders(code="editor"):
    return set(LicenseAssignment.objects.filter(product_code=code).values_list(
        "user__username", flat=True))


@pytest.fixture
def reviewers():
    return Group.objects.create(name="Reviewers")


def test_binding_calls_the_grant_hook_for_the_members_seated(two_seats, writers):
    with recording() as calls:
        operations.bind_group_licenses(writers, "editor")
    [result] = calls.of(GRANTED)
    assert result.source == GROUP and result.groups == ["Writers"]
    assert result.granted == {"editor": ["user0", "user1"]}  # two seats; two members wait
    assert result.names == {"editor": "CMS editor"}
    assert calls.of(RECALLED) == []


def test_unbinding_calls_the_recall_hook_for_what_only_the_group_gave(
    installed, writers, reviewers
):
    operations.bind_group_licenses(writers, "analytics")
    user0 = get_user_model().objects.get(username="user0")
    user1 = get_user_model().objects.get(username="user1")
    reviewers.user_set.add(user0)  # keeps analytics through Reviewers
    operations.bind_group_licenses(reviewers, "analytics")
    operations.grant([user1], "analytics")  # keeps it directly
    with recording() as calls:
        operations.unbind_group_licenses(writers, "analytics")
    [result] = calls.of(RECALLED)
    assert result.source == GROUP and result.groups == ["Writers"]
    assert result.recalled == {"analytics": ["user2", "user3"]}
    assert calls.of(GRANTED) == []
    assert holders("analytics") == {"user0", "user1"}


def test_joining_and_leaving_call_the_hooks(installed, writers, make_users):
    operations.bind_group_licenses(writers, "analytics")
    [late] = make_users(1, prefix="late")
    with recording() as calls:
        late.groups.add(writers)
    assert calls.granted() == {"analytics": {"late0"}}
    assert calls.of(GRANTED)[0].groups == ["Writers"]
    with recording() as calls:
        writers.user_set.remove(late)
    assert calls.recalled() == {"analytics": {"late0"}}
    assert calls.of(RECALLED)[0].groups == ["Writers"]
    assert calls.of(GRANTED) == []


def test_clearing_a_users_groups_names_the_groups_bound_to_the_product(installed, writers):
    operations.bind_group_licenses(writers, "analytics")
    user0 = get_user_model().objects.get(username="user0")
    with recording() as calls:
        user0.groups.clear()
    [result] = calls.of(RECALLED)
    assert result.recalled == {"analytics": ["user0"]}
    assert result.groups == ["Writers"]  # the memberships are gone: the groups bound to it


def test_deleting_a_group_calls_the_recall_hook_with_its_name(installed, writers):
    operations.bind_group_licenses(writers, "analytics")
    with recording() as calls:
        writers.delete()
    [result] = calls.of(RECALLED)
    assert result.groups == ["Writers"]
    assert result.recalled == {"analytics": ["user0", "user1", "user2", "user3"]}
    assert not LicenseAssignment.objects.exists()


def test_reprocess_calls_the_grant_hook(installed, writers):
    operations.bind_group_licenses(writers, "analytics")
    LicenseAssignment.objects.filter(user__username="user2").delete()
    with recording() as calls:
        operations.reprocess_group_licenses(group=writers)
    assert calls.granted() == {"analytics": {"user2"}}
    assert calls.of(GRANTED)[0].groups == ["Writers"]
    with recording() as calls:  # everything: the groups bound to the products seated
        LicenseAssignment.objects.filter(user__username="user3").delete()
        operations.reprocess_group_licenses()
    assert calls.granted() == {"analytics": {"user3"}}
    assert calls.of(GRANTED)[0].groups == ["Writers"]


def test_installing_more_seats_calls_the_grant_hook_for_the_members_waiting(
    two_seats, writers, install
):
    operations.bind_group_licenses(writers, "editor")
    with recording() as calls:
        install(products=[product("editor", "named", 10, name="CMS editor"),
                          *DEFAULT_PRODUCTS[1:]])
    [result] = calls.of(GRANTED)
    assert result.source == GROUP and result.groups == ["Writers"]
    assert result.granted == {"editor": ["user2", "user3"]}
    assert not GroupLicenseError.objects.exists()


def test_a_direct_recall_reports_direct_then_the_members_given_the_freed_seat(
    two_seats, writers, make_users
):
    operations.bind_group_licenses(writers, "editor")  # user0, user1 seated; two wait
    operations.unbind_group_licenses(writers, "editor")
    [boss] = make_users(1, prefix="boss")
    operations.grant([boss], "editor")
    operations.bind_group_licenses(writers, "editor")  # one seat left: user0 only
    with recording() as calls:
        operations.recall([boss], "editor")
    assert [name for name, _result in calls] == [RECALLED, GRANTED]
    direct, group = calls.of(RECALLED)[0], calls.of(GRANTED)[0]
    assert direct.source == operations.LicenseSource.DIRECT and direct.groups == []
    assert direct.recalled == {"editor": ["boss0"]}
    assert group.source == GROUP and group.granted == {"editor": ["user1"]}
    assert group.groups == ["Writers"]


def test_deactivation_and_reactivation_call_the_grant_hook(two_seats, writers):
    operations.bind_group_licenses(writers, "editor")  # user0, user1 seated
    User = get_user_model()
    user0 = User.objects.get(username="user0")
    with recording() as calls:
        user0.is_active = False
        user0.save()
    assert calls.granted() == {"editor": {"user2"}}  # the seat user0 freed
    [late] = [User.objects.create(username="late", is_active=False)]
    operations.unbind_group_licenses(writers, "editor")
    user0.is_active = True
    user0.save()
    operations.bind_group_licenses(writers, "analytics")  # unlimited: no inactive member
    late.groups.add(writers)
    assert "late" not in holders("analytics")
    with recording() as calls:
        late.is_active = True
        late.save()
    assert calls.granted() == {"analytics": {"late"}}


def test_a_source_added_to_a_seat_already_held_calls_no_grant_hook(installed, writers):
    user0 = get_user_model().objects.get(username="user0")
    operations.grant([user0], "analytics")
    operations.bind_group_licenses(writers, "analytics")
    with recording() as calls:
        operations.unbind_group_licenses(writers, "analytics")  # user0 keeps the direct grant
        Group.objects.create(name="Others").user_set.add(user0)
        operations.bind_group_licenses(Group.objects.get(name="Others"), "analytics")
    assert "user0" not in calls.recalled().get("analytics", set())
    assert calls.of(GRANTED) == []  # only a source was added to user0's seat
    assert GroupLicense.objects.filter(group__name="Others").exists()


def test_direct_grants_and_recalls_say_direct(installed, make_users):
    users = make_users(2)
    with recording() as calls:
        operations.grant(users, "analytics")
        operations.recall(users, "analytics")
    assert [r.source for _name, r in calls] == [operations.LicenseSource.DIRECT] * 2
    assert all(r.groups == [] for _name, r in calls)


def test_a_raising_grant_hook_rolls_the_binding_back(installed, writers):
    def refuse(user, result):
        raise LicensingError("no")

    with hooks.register_temporarily(GRANTED, refuse), pytest.raises(LicensingError):
        operations.bind_group_licenses(writers, "analytics")
    assert not GroupLicense.objects.exists()
    assert not LicenseAssignment.objects.exists()


def test_a_raising_recall_hook_rolls_the_membership_change_back(installed, writers):
    operations.bind_group_licenses(writers, "analytics")
    user0 = get_user_model().objects.get(username="user0")

    def refuse(user, result):
        raise LicensingError("no")

    # Django removes memberships in a transaction of its own (a savepoint here, in the test's).
    with hooks.register_temporarily(RECALLED, refuse), pytest.raises(LicensingError), \
            transaction.atomic():
        writers.user_set.remove(user0)
    assert writers.user_set.filter(pk=user0.pk).exists()
    assert "user0" in holders("analytics")


def test_without_a_grant_or_recall_hook_no_username_is_read(installed, writers, make_users,
                                                              reviewers):
    def measure(group, user):
        with count_queries() as bind:
            operations.bind_group_licenses(group, "analytics")
        with count_queries() as leave:
            group.user_set.remove(user)
        operations.unbind_group_licenses(group, "analytics")
        return len(bind), len(leave)

    user0 = get_user_model().objects.get(username="user0")
    without = measure(writers, user0)
    reviewers.user_set.add(*make_users(4, prefix="rev"))
    rev0 = get_user_model().objects.get(username="rev0")
    # An unrelated hook is no reason to read names.
    with recording(operations.AFTER_GROUP_LICENSES_CHANGED):
        unrelated = measure(reviewers, rev0)
    assert unrelated == without
    Group.objects.create(name="Third").user_set.add(*make_users(4, prefix="third"))
    third0 = get_user_model().objects.get(username="third0")
    with recording() as calls:
        hooked = measure(Group.objects.get(name="Third"), third0)
    # With both hooks: one query for the names seated and one for the names removed, per
    # product reconciled.
    assert hooked == (without[0] + 2, without[1] + 2)
    assert calls.granted() == {"analytics": {"third0", "third1", "third2", "third3"}}


def test_a_1000_member_binding_with_hooks_costs_as_many_queries_as_a_10_member_one(
    installed, make_users, writers, reviewers
):
    make_users(10, prefix="small", groups=[reviewers])
    make_users(996, prefix="big", groups=[writers])  # and user0..user3: 1,000 members
    with recording() as calls:
        with count_queries() as small:
            operations.bind_group_licenses(reviewers, "analytics")
        with count_queries() as big:
            operations.bind_group_licenses(writers, "analytics")
    assert len(big) == len(small), big
    assert len(calls.of(GRANTED)[1].granted["analytics"]) == 1000
