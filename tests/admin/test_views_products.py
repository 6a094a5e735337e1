"""A product's page: details, holders (search, pages, seats), recall and "Add users"."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.support.licenses import product
from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, LicensedProduct, LicensingState


def url(name, code="editor"):
    return reverse(f"wagtail_licensing:{name}", args=[code])


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def site(install, make_users, manager):
    install(products=[product("editor", "named", 5, name="CMS editor"),
                      product("portal", "portal", 3, name="Customer portal"),
                      product("analytics", "named", None, name="Analytics")])
    holders = make_users(3, prefix="holder")
    operations.grant(holders, ["editor"], user=manager)
    return holders


def messages_of(response):
    return [str(m).strip() for m in response.wsgi_request._messages]


def holders_on_page(response):
    return [a.user.username for a in response.context["object_list"]]


def test_product_page(manager_client, site):
    response = manager_client.get(url("product"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "CMS editor" in content and "3 of 5 seats used" in content
    assert holders_on_page(response) == ["holder0", "holder1", "holder2"]
    assert url("product_grant") in content  # "Add users"
    assert f'{url("product_recall")}?user={site[0].pk}' in content  # per-row recall
    assert 'data-controller="w-bulk"' in content  # select several


def test_holders_are_searchable_and_paginated(manager_client, make_users, site, manager):
    operations.grant(make_users(25, prefix="bulk"), ["analytics"], user=manager)
    operations.grant(make_users(1, prefix="zoe"), ["analytics"], user=manager)
    response = manager_client.get(url("product", "analytics"))
    assert len(response.context["object_list"]) == 20
    assert response.context["paginator"].count == 26
    response = manager_client.get(url("product", "analytics") + "?p=2")
    assert len(response.context["object_list"]) == 6
    response = manager_client.get(url("product", "analytics") + "?q=zoe")
    assert holders_on_page(response) == ["zoe0"]
    # The search box refreshes just the results.
    response = manager_client.get(url("product_results", "analytics") + "?q=bulk1")
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert set(holders_on_page(response)) == {f"bulk{i}" for i in [1, *range(10, 20)]}


def test_holders_without_a_seat_are_marked(manager_client, install, make_users, manager):
    install(products=[product("editor", "named", 3)])
    users = make_users(4)
    operations.grant(users[:3], ["editor"], user=manager)
    install(products=[product("editor", "named", 4)])
    operations.grant(users[3:], ["editor"], user=manager)
    install(products=[product("editor", "named", 2)])  # over-allocated now
    users[0].is_active = False
    users[0].save()
    response = manager_client.get(url("product"))
    html = response.context["table"].render_html({"request": response.wsgi_request})
    assert html.count("No seat") == 1
    assert html.count("Inactive") == 1
    assert "This product is over-allocated" in response.content.decode()


def test_recall_one_holder(manager_client, site, manager):
    holder = site[0]
    response = manager_client.get(f"{url('product_recall')}?user={holder.pk}")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Recall <strong>CMS editor</strong> from this user?" in content
    assert holder.username in content
    response = manager_client.post(url("product_recall"), {"user": [holder.pk]})
    assert response["Location"] == url("product")
    assert not LicenseAssignment.objects.filter(user=holder).exists()
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 2
    assert "Recalled CMS editor (editor) from 1 user: holder0." in messages_of(response)


def test_recall_several(manager_client, site):
    response = manager_client.get(url("product_recall"), {"user": [u.pk for u in site]})
    assert "from these 3 users?" in response.content.decode()
    manager_client.post(url("product_recall"), {"user": [u.pk for u in site[:2]]})
    assert list(LicenseAssignment.objects.values_list("user__username", flat=True)) == [
        "holder2"]


@pytest.mark.parametrize("query", ["", "?user=abc", "?user=999999"])
def test_recall_needs_holders(manager_client, site, query, make_users):
    response = manager_client.get(url("product_recall") + query)
    assert response["Location"] == url("product")
    assert any("select" in m.lower() for m in messages_of(response))
    response = manager_client.post(url("product_recall"), {"user": query[6:]} if query else {})
    assert response["Location"] == url("product")
    assert LicenseAssignment.objects.count() == 3


def test_recall_of_a_non_holder_is_refused(manager_client, site, make_users):
    other = make_users(1, prefix="other")[0]
    response = manager_client.post(url("product_recall"), {"user": [site[0].pk, other.pk]})
    assert any("Reload the page and select again." in m for m in messages_of(response))
    assert LicenseAssignment.objects.count() == 3


def test_grant_page_lists_who_could_hold_it(manager_client, site, make_users, editor, manager):
    candidates = make_users(2, prefix="cand")
    make_users(1, prefix="gone", active=False)
    portal = make_users(2, prefix="customer", portal=True)
    response = manager_client.get(url("product_grant"))
    assert response.status_code == 200
    names = {u.username for u in response.context["object_list"]}
    assert names == {"cand0", "cand1", "editor", "manager"}  # not holders, inactive or portal
    response = manager_client.get(url("product_grant", "portal"))
    assert {u.username for u in response.context["object_list"]} == {u.username for u in portal}
    response = manager_client.get(url("product_grant") + "?q=cand1")
    assert [u.username for u in response.context["object_list"]] == ["cand1"]
    assert candidates  # used above


@pytest.mark.parametrize("ordering", ["-last_login", "-username"])
def test_add_users_pages_keep_their_order(manager_client, site, make_users, ordering):
    """Each page is read keys first (a sort of narrow rows) and keeps the listing's order."""
    make_users(45, prefix="cand")
    User = get_user_model()
    for index, user in enumerate(User.objects.filter(username__startswith="cand")):
        User.objects.filter(pk=user.pk).update(last_login=timezone.now() - timedelta(hours=index))
    seen = []
    for page in (1, 2, 3):
        response = manager_client.get(url("product_grant"), {"ordering": ordering, "p": page})
        seen += [u.username for u in response.context["object_list"]]
    expected = [u.username for u in response.context["page_obj"].paginator.object_list]
    assert seen == expected
    assert len(set(seen)) == len(seen) == response.context["items_count"]


def test_the_add_users_count_is_exact_without_counting_every_user(manager_client, site,
                                                                   make_users, manager):
    """The paginator's count comes from the kept counters (grant_candidate_count), and is the
    count of the listed users whatever the mix: inactive holders, portal users, and holders
    of the wrong kind that site code made behind the actions' back."""
    make_users(4, prefix="cand")
    make_users(2, prefix="gone", active=False)
    portal = make_users(3, prefix="customer", portal=True)
    make_users(1, prefix="away", active=False, portal=True)
    operations.grant(portal[:1], ["portal"], user=manager)
    operations.grant(make_users(2, prefix="later"), ["analytics"], user=manager)
    LicenseAssignment.objects.create(user=portal[1], product_code="editor")  # wrong kind
    LicenseAssignment.objects.create(user=site[0], product_code="portal")  # wrong kind
    # A holder deactivated by a bare UPDATE (no signal): verify --fix recounts the counters.
    get_user_model().objects.filter(pk=site[2].pk).update(is_active=False)
    operations.repair_counters()
    for code in ("editor", "portal", "analytics"):
        product_ = LicensedProduct.objects.filter(
            license_file_id=LicensingState.get().installed_file_id, code=code).with_usage().get()
        assert product_.grant_candidate_count() == product_.grant_candidates().count(), code
        response = manager_client.get(url("product_grant", code))
        assert response.context["items_count"] == product_.grant_candidates().count(), code
    # Searched, the paginator counts the search's results itself.
    response = manager_client.get(url("product_grant") + "?q=cand")
    assert response.context["items_count"] == 4


def test_the_add_users_page_counts_no_user(manager_client, site, make_users):
    """Its count is the census less the counters: no COUNT over the users, however many."""
    make_users(30, prefix="cand")
    make_users(3, prefix="customer", portal=True)
    manager_client.get(url("product_grant"))
    with count_queries() as queries:
        response = manager_client.get(url("product_grant"))
    counts = [sql for sql in queries.sql if "COUNT(" in sql.upper()]
    user_table = get_user_model()._meta.db_table
    assert not [sql for sql in counts if user_table in sql and "portaluser" not in sql], counts
    assert not [sql for sql in counts if "portaluser" in sql], counts
    candidates = get_user_model().objects.filter(is_active=True).exclude(
        license_assignments__product_code="editor").exclude(
        licensing_portal_user__isnull=False).count()
    assert response.context["items_count"] == candidates >= 30


def test_grant_selected_users(manager_client, site, make_users, manager):
    users = make_users(2, prefix="cand")
    response = manager_client.post(url("product_grant"), {"user": [u.pk for u in users]})
    assert response["Location"] == url("product")
    assert "Granted CMS editor (editor) to 2 users: cand0 and cand1." in messages_of(response)
    granted = LicenseAssignment.objects.get(user=users[0], product_code="editor")
    assert granted.granted_by == manager and granted.source == "manual"


def test_grant_beyond_seats_is_refused_and_changes_nothing(manager_client, site, make_users):
    users = make_users(3, prefix="cand")  # 3 seats used of 5: 2 left
    version = LicensingState.get().version
    response = manager_client.post(url("product_grant"), {"user": [u.pk for u in users]})
    assert response["Location"] == url("product_grant")
    assert any("3 seats are needed but only 2 of 5 are available" in m
               for m in messages_of(response))
    assert LicenseAssignment.objects.count() == 3
    assert LicensingState.get().version == version


def test_grant_is_disabled_when_no_seat_is_left(manager_client, site, make_users, manager):
    operations.grant(make_users(2, prefix="more"), ["editor"], user=manager)  # 5 of 5
    response = manager_client.get(url("product_grant"))
    content = response.content.decode()
    assert "All 5 seats of CMS editor are taken." in content
    assert "data-grant-selected disabled" in content


def test_grant_needs_a_selection(manager_client, site):
    response = manager_client.post(url("product_grant"), {})
    assert "Select at least one user." in messages_of(response)


def test_product_missing_from_the_installed_license(manager_client, install, make_users,
                                                    manager):
    install(products=[product("editor"), product("legacy", name="Legacy")])
    holder = make_users(1)[0]
    operations.grant([holder], ["legacy"], user=manager)
    install(products=[product("editor")])
    response = manager_client.get(url("product", "legacy"))
    assert response.status_code == 200
    assert "is not a product of the installed license" in response.content.decode()
    assert url("product_grant", "legacy") not in response.content.decode()
    response = manager_client.get(url("product_grant", "legacy"))
    assert response["Location"] == url("product", "legacy")
    # ... but its holders can still be recalled.
    manager_client.post(url("product_recall", "legacy"), {"user": [holder.pk]})
    assert not LicenseAssignment.objects.filter(product_code="legacy").exists()


def test_csrf_is_enforced(manager, site, make_users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    other = make_users(1, prefix="other")[0]
    assert client.post(url("product_recall"), {"user": [site[0].pk]}).status_code == 403
    assert client.post(url("product_grant"), {"user": [other.pk]}).status_code == 403
    assert LicenseAssignment.objects.count() == 3


def page_queries(client, address):
    client.get(address)
    with count_queries() as queries:
        assert client.get(address).status_code == 200
    return len(queries)


def test_product_page_queries_do_not_grow_with_holders(manager_client, install, make_users,
                                                       manager):
    install(products=[product("analytics", "named", None)])
    users = make_users(200)
    for user in users[:20]:  # avatars: some users have a profile
        from wagtail.users.models import UserProfile
        UserProfile.get_for_user(user)
    operations.grant(users[:5], ["analytics"], user=manager)
    few = page_queries(manager_client, url("product", "analytics"))
    operations.grant(users[5:], ["analytics"], user=manager)
    many = page_queries(manager_client, url("product", "analytics"))
    assert few == many


def test_grant_page_queries_do_not_grow_with_users(manager_client, install, make_users):
    install(products=[product("analytics", "named", None)])
    make_users(5)
    few = page_queries(manager_client, url("product_grant", "analytics"))
    make_users(195)
    assert page_queries(manager_client, url("product_grant", "analytics")) == few
