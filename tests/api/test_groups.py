"""Group licenses through the API: groups and their bindings, bind (with the admin's preview as
a dry run), unbind, reprocess, the licensing errors, and where assignments are held from;
through the group actions, with their audit entries, in constant queries per page."""

import pytest
from django.contrib.auth.models import Group
from wagtail.models import ModelLogEntry

from tests.api.conftest import url
from tests.support.licenses import DEFAULT_PRODUCTS, product
from wagtail_licensing import operations
from wagtail_licensing.models import (
    GroupLicense,
    GroupLicenseError,
    LicenseAssignment,
    held_source,
)

pytestmark = pytest.mark.django_db


def products_with(editor_seats):
    return [product("editor", "named", editor_seats, name="CMS editor"), *DEFAULT_PRODUCTS[1:]]


def join(group, users):
    """One by one: the seating order is the order of the memberships."""
    for user in users:
        group.user_set.add(user)
    return users


def holders(code="editor"):
    return set(LicenseAssignment.objects.filter(product_code=code)
               .values_list("user__username", flat=True))


def bind(client, group, products, **body):
    return client.post(url(f"groups/{group}/bind/"), {"products": products, **body},
                       format="json")


@pytest.fixture
def writers():
    return Group.objects.create(name="Writers")


@pytest.fixture
def reviewers():
    return Group.objects.create(name="Reviewers")


@pytest.fixture
def few_seats(install):
    return install(products=products_with(2))


def test_refused_without_a_token_or_without_the_permission(api, token_for, editor, writers,
                                                           installed):
    assert api.get(url("groups/")).status_code == 401
    response = bind(api, writers.pk, ["editor"])
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(editor))
    for response in (api.get(url("groups/")), api.get(url("group-licenses/errors/")),
                     bind(api, writers.pk, ["editor"]),
                     api.post(url("group-licenses/reprocess/"), {}, format="json")):
        assert response.status_code == 403
        assert "CanManageLicUsers" in response.json()["detail"]
    assert not GroupLicense.objects.exists()


def test_a_read_only_token_lists_but_cannot_bind(api, token_for, manager, writers, installed):
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager, read_only=True))
    assert api.get(url(f"groups/{writers.name}/")).status_code == 200
    response = bind(api, writers.name, ["editor"])
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    assert not GroupLicense.objects.exists()


def test_groups_list_and_detail(manager_api, installed, make_users, writers, reviewers,
                                managers_group):
    join(writers, make_users(3))
    operations.bind_group_licenses(writers, "editor", priority=5)
    data = manager_api.get(url("groups/")).json()
    names = [g["name"] for g in data["results"]]  # with Wagtail's own (Editors, Moderators)
    assert names == sorted(names) and {"License managers", "Reviewers", "Writers"} <= set(names)
    data["results"] = [g for g in data["results"] if g["name"] == "Writers"]
    assert data["results"][0] == {
        "id": writers.pk, "name": "Writers", "members": 3, "errors": 0,
        "bindings": [{"product": "editor", "priority": 5, "holders": 3, "errors": 0}]}
    bound = manager_api.get(url("groups/?product=editor")).json()
    assert [g["name"] for g in bound["results"]] == ["Writers"]
    assert manager_api.get(url(f"groups/{writers.pk}/")).json() == data["results"][0]
    assert manager_api.get(url("groups/Writers/")).json()["id"] == writers.pk
    response = manager_api.get(url("groups/Nobody/"))
    assert response.status_code == 404 and response.json()["unknown_groups"] == ["Nobody"]
    assert manager_api.get(url("groups/a%00b/")).status_code == 404


def test_a_group_name_wins_over_an_id(manager_api, installed, writers):
    digits = Group.objects.create(name=str(writers.pk))
    assert manager_api.get(url(f"groups/{writers.pk}/")).json()["id"] == digits.pk


def test_bind_dry_run_previews_as_the_admin_and_binds_nothing(manager_api, few_seats,
                                                              make_users, writers):
    members = join(writers, make_users(4))
    response = bind(manager_api, "Writers", ["editor"], dry_run=True)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["dry_run"] is True and "result" not in data
    (preview,) = data["preview"]
    assert preview == {
        "product": "editor", "name": "CMS editor", "installed": True, "members": 4,
        "already": 0, "needed": 4, "ineligible": 0, "available": 2, "left_without": 2,
        "left_names": [members[2].username, members[3].username]}
    assert preview == {"product": "editor", **{
        k: v for k, v in vars(operations.preview_group_binding(writers, "editor")[0]).items()
        if k not in ("code", "group")}}
    assert not GroupLicense.objects.exists() and holders() == set()
    assert not ModelLogEntry.objects.filter(action=operations.ACTION_GROUP_LICENSES).exists()


def test_bind_with_too_few_seats_lists_the_errors(manager_api, manager, few_seats,
                                                  make_users, writers):
    members = join(writers, make_users(4))
    response = bind(manager_api, writers.pk, ["editor"], priority=7)
    assert response.status_code == 200, response.json()
    data = response.json()
    result = data["result"]
    assert data["dry_run"] is False and result["changed"] is True
    assert result["bound"] == ["editor"] and result["granted"] == {"editor": 2}
    assert result["errors"] == {"editor": 2}
    assert any("left without a seat" in m["text"] and m["level"] == "warning"
               for m in result["messages"])
    assert data["group"]["errors"] == 2
    assert data["group"]["bindings"] == [
        {"product": "editor", "priority": 7, "holders": 2, "errors": 2}]
    assert holders() == {members[0].username, members[1].username}
    errors = manager_api.get(url("group-licenses/errors/")).json()
    assert errors["count"] == 2
    first = errors["results"][0]
    assert first["user"] == {"id": members[2].pk, "username": members[2].username}
    assert first["group"] == {"id": writers.pk, "name": "Writers"}
    assert first["product"] == "editor" and first["reason"] == "not_enough_seats"
    assert first["message"] == ("Licensing error: not enough seats for CMS editor (editor) "
                                "from the group Writers.")
    by_user = manager_api.get(url(f"group-licenses/errors/?user={members[3].username}")).json()
    assert [e["user"]["id"] for e in by_user["results"]] == [members[3].pk]
    assert manager_api.get(url("group-licenses/errors/?group=Writers&product=editor")
                           ).json()["count"] == 2
    assert manager_api.get(url("group-licenses/errors/?product=analytics")).json()["count"] == 0
    assert manager_api.get(url("group-licenses/errors/?group=Nobody")).status_code == 404
    # The audit entry: the API's bind, by the manager, with the group as the reason.
    entry = ModelLogEntry.objects.get(action=operations.ACTION_GROUP_LICENSES)
    assert entry.user_id == manager.pk
    assert entry.data["event"] == "bound" and entry.data["groups"] == ["Writers"]
    assert entry.data["errors"] == {"editor": 2}


def test_bind_refusals_change_nothing(manager_api, installed, writers, make_users):
    join(writers, make_users(1))
    response = bind(manager_api, "Writers", ["editor", "nope"])
    assert response.status_code == 404 and response.json()["unknown_products"] == ["nope"]
    response = bind(manager_api, "Nobody", ["editor"])
    assert response.status_code == 404 and response.json()["unknown_groups"] == ["Nobody"]
    response = bind(manager_api, "Writers", ["editor"], priority=-1)
    assert response.status_code == 400 and "priority" in response.json()["errors"]
    response = bind(manager_api, "Writers", [])
    assert response.status_code == 400 and "products" in response.json()["errors"]
    assert not GroupLicense.objects.exists() and holders() == set()


def test_bind_in_demo_mode_is_refused_as_the_action_words_it(manager_api, writers):
    response = bind(manager_api, "Writers", ["editor"])
    assert response.status_code == 409
    assert response.json()["type"].endswith(":refused")
    assert "demo mode" in response.json()["detail"]
    response = bind(manager_api, "Writers", ["editor"], dry_run=True)
    assert response.status_code == 404 and response.json()["unknown_products"] == ["editor"]
    assert not GroupLicense.objects.exists()


def test_unbind_removes_only_what_that_group_gave(manager_api, installed, make_users, writers,
                                                  reviewers):
    only_writer, direct, both_groups = join(writers, make_users(3))
    reviewers.user_set.add(both_groups)
    operations.grant([direct], ["editor"])
    operations.bind_group_licenses(writers, "editor")
    operations.bind_group_licenses(reviewers, "editor")
    response = manager_api.post(url("groups/Writers/unbind/"), {"products": ["editor"]},
                                format="json")
    assert response.status_code == 200, response.json()
    result = response.json()["result"]
    assert result["unbound"] == ["editor"] and result["removed"] == {"editor": 1}
    assert response.json()["group"]["bindings"] == []
    assert holders() == {direct.username, both_groups.username}
    assert GroupLicense.objects.filter(group=reviewers).exists()
    again = manager_api.post(url("groups/Writers/unbind/"), {"products": ["editor"]},
                             format="json").json()["result"]
    assert again["changed"] is False
    assert again["messages"] == [{"level": "info", "text": "Nothing needed to change."}]


def reprocess(client, **body):
    return client.post(url("group-licenses/reprocess/"), body, format="json")


def test_reprocess_keeps_or_removes_manual_grants(manager_api, installed, make_users, writers):
    (member,) = join(writers, make_users(1))
    operations.grant([member], ["editor"])
    operations.bind_group_licenses(writers, "editor")
    kept = reprocess(manager_api, group="Writers")
    assert kept.status_code == 200, kept.json()
    assert kept.json()["event"] == "reprocessed" and kept.json()["made_inherited"] == {}
    assert LicenseAssignment.objects.get(user=member, product_code="editor").direct
    removed = reprocess(manager_api, group=writers.pk, remove_manual=True)
    assert removed.status_code == 200, removed.json()
    assert removed.json()["made_inherited"] == {"editor": 1}
    assert not LicenseAssignment.objects.get(user=member, product_code="editor").direct
    entries = ModelLogEntry.objects.filter(action=operations.ACTION_GROUP_LICENSES,
                                           data__event="reprocessed")
    assert sorted(e.data["remove_manual"] for e in entries) == [False, True]
    # Leaving the group now frees the seat.
    writers.user_set.remove(member)
    assert holders() == set()


def test_reprocess_resolves_errors_for_users_or_everything(manager_api, install, make_users,
                                                           writers):
    install(products=products_with(1))
    first, second = join(writers, make_users(2))
    operations.bind_group_licenses(writers, "editor")
    assert GroupLicenseError.objects.filter(user=second).exists()
    operations.recall([first], ["editor"])  # a recall reprocesses too: the seat goes to second
    writers.user_set.remove(first)
    response = reprocess(manager_api, users=[second.username])
    assert response.status_code == 200, response.json()
    assert holders() == {second.username} and not GroupLicenseError.objects.exists()
    everything = reprocess(manager_api)
    assert everything.status_code == 200 and everything.json()["errors"] == {}


def test_reprocess_refusals(manager_api, installed, make_users, writers):
    (user,) = make_users(1)
    response = reprocess(manager_api, remove_manual=True)
    assert response.status_code == 400 and "remove_manual" in response.json()["errors"]
    response = reprocess(manager_api, group="Writers", users=[user.username])
    assert response.status_code == 400 and "non_field_errors" in response.json()["errors"]
    response = reprocess(manager_api, group="Nobody")
    assert response.status_code == 404 and response.json()["unknown_groups"] == ["Nobody"]
    response = reprocess(manager_api, users=["ghost"])
    assert response.status_code == 404 and response.json()["unknown_users"] == ["ghost"]
    response = reprocess(manager_api, group=True)
    assert response.status_code == 400 and "group" in response.json()["errors"]
    assert not ModelLogEntry.objects.filter(action=operations.ACTION_GROUP_LICENSES).exists()


def test_assignments_say_where_they_are_held_from_and_filter_by_it(
        manager_api, installed, make_users, writers, reviewers):
    direct_only, inherited, both = make_users(3)
    join(writers, [inherited, both])
    reviewers.user_set.add(both)
    operations.grant([direct_only, both], ["editor"])
    operations.bind_group_licenses(writers, "editor")
    operations.bind_group_licenses(reviewers, "editor")
    data = manager_api.get(url("assignments/?product=editor")).json()
    held = {a["user"]["username"]: (a["held"], a["groups"]) for a in data["results"]}
    assert held == {direct_only.username: ("direct", []),
                    inherited.username: ("group", ["Writers"]),
                    both.username: ("direct+group", ["Reviewers", "Writers"])}
    # The exports' Source column says the same (one rule, in SQL there).
    exported = dict(LicenseAssignment.objects.filter(product_code="editor").annotate(
        held=held_source()).values_list("user__username", "held"))
    assert exported == {name: value for name, (value, _groups) in held.items()}

    def names(kind):
        response = manager_api.get(url(f"assignments/?product=editor&held={kind}"))
        assert response.status_code == 200, response.json()
        return {a["user"]["username"] for a in response.json()["results"]}

    # As System users' Source filter says it of users.
    assert names("direct") == {direct_only.username, both.username}
    assert names("inherited") == {inherited.username, both.username}
    assert names("both") == {both.username}
    response = manager_api.get(url("assignments/?held=sideways"))
    assert response.status_code == 400 and "held" in response.json()["errors"]
    # The channel filter is another one.
    assert manager_api.get(url("assignments/?source=group&held=direct")).json()["count"] == 0
    licenses = manager_api.get(url(f"users/{both.username}/licenses/")).json()["licenses"]
    assert [(lic["held"], lic["groups"]) for lic in licenses] == [
        ("direct+group", ["Reviewers", "Writers"])]


def test_pages_in_constant_queries(manager_api, install, make_users,
                                   django_assert_num_queries):
    install(products=products_with(1))  # members left without a seat: errors to list
    counts = {}
    for size in (2, 20):
        groups = [Group.objects.create(name=f"Group {size}-{n}") for n in range(size)]
        users = make_users(size, prefix=f"member{size}-")
        for group in groups:
            group.user_set.add(*users)
            operations.bind_group_licenses(group, ["editor", "analytics"])
        counts[size] = (
            LicenseAssignment.objects.count(), GroupLicenseError.objects.count())
        # the session, the user, their permissions (2), then per list: the count, the page,
        # and the page's bindings / the groups held through / the products' names
        with django_assert_num_queries(7):
            data = manager_api.get(url("groups/?product=editor&page_size=1000")).json()
        assert all(g["bindings"] for g in data["results"])
        with django_assert_num_queries(7):
            data = manager_api.get(url("assignments/?page_size=1000")).json()
        assert all(a["groups"] for a in data["results"])
        with django_assert_num_queries(7):
            data = manager_api.get(url("group-licenses/errors/?page_size=1000")).json()
        assert data["count"] == GroupLicenseError.objects.count() > 0
    assert counts[20] > counts[2]


def test_binding_again_changes_the_priority(manager_api, installed, make_users, writers):
    join(writers, make_users(2))
    assert bind(manager_api, "Writers", ["editor"]).json()["group"]["bindings"][0][
        "priority"] == 100
    data = bind(manager_api, "Writers", ["editor"], priority=3).json()
    assert data["result"]["bound"] == ["editor"] and data["result"]["granted"] == {}
    assert data["group"]["bindings"][0]["priority"] == 3
    same = bind(manager_api, "Writers", ["editor"], priority=3).json()["result"]
    assert same["changed"] is False
