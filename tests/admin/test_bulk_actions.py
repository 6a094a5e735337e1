"""Grant licenses and Recall licenses: Wagtail bulk actions on users."""

from datetime import date
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.support.licenses import product
from tests.support.queries import count_queries, refresh_planner_statistics
from tests.support.users import (
    give_license,
    holders,
    messages_of,
    text,
    user_admins_group,
)
from wagtail_licensing import operations
from wagtail_licensing.models import AssignmentSource, LicenseAssignment, LicensingState

User = get_user_model()


def grant_url(*users, next_url=None, **params):
    query = [("id", user.pk) for user in users] + list(params.items())
    query.append(("next", next_url or reverse("wagtail_licensing_users:index")))
    return reverse("wagtail_licensing_users:bulk_action", args=["grant_licenses"]) + "?" + \
        urlencode(query, doseq=True)


def recall_url(*users, next_url=None, **params):
    return grant_url(*users, next_url=next_url, **params).replace("grant_licenses",
                                                                  "recall_licenses")


def wagtail_url(action, *users, next_url="/admin/users/"):
    query = [("id", user.pk) for user in users] + [("next", next_url)]
    return reverse("wagtail_bulk_action", args=["auth", "user", action]) + "?" + \
        urlencode(query)


@pytest.fixture
def site(installed, make_users, manager):
    operations.grant([manager], ["analytics"])  # a licensed manager: enforcement stays quiet
    return installed


@pytest.fixture
def staff(make_users):
    return make_users(4, prefix="staff")


# Access ----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, site, staff):
    response = client.get(grant_url(*staff))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))


@pytest.mark.parametrize("url", [grant_url, recall_url])
def test_editor_is_refused(client, site, staff, editor, url):
    give_license(editor)
    client.force_login(editor)
    assert client.get(url(*staff)).status_code == 302
    response = client.post(url(*staff), {"products": ["analytics"]})
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    assert holders("analytics") == {"manager", "editor"}


def test_user_admin_without_licensing_permission_is_refused(client, site, staff):
    admin = User.objects.create_user("useradmin", password="pw")
    admin.groups.add(user_admins_group())
    give_license(admin)
    client.force_login(admin)
    for url in [grant_url(*staff), wagtail_url("grant_licenses", *staff)]:
        response = client.post(url, {"products": ["analytics"]})
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtailadmin_home")
    assert not holders("analytics") & {u.username for u in staff}


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_managers_and_superusers_grant(client, site, staff, request, who):
    user = request.getfixturevalue(who)
    if who == "superuser":
        give_license(user)
    client.force_login(user)
    response = client.get(grant_url(*staff))
    assert response.status_code == 200
    response = client.post(grant_url(*staff), {"products": ["editor"]})
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtail_licensing_users:index")
    assert holders("editor") == {u.username for u in staff}
    assignment = LicenseAssignment.objects.filter(product_code="editor").first()
    assert assignment.source == AssignmentSource.BULK
    assert assignment.granted_by == user


def test_csrf_is_required(site, staff, manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(grant_url(*staff), {"products": ["editor"]})
    assert response.status_code == 403
    assert holders("editor") == set()


def test_unknown_action_is_404(client, site, manager):
    client.force_login(manager)
    url = reverse("wagtail_licensing_users:bulk_action", args=["delete"])
    assert client.get(url + "?id=1").status_code == 404


# Where the actions appear ----------------------------------------------------------------


def test_shown_on_wagtails_user_listing_for_managers_only(client, site):
    """Settings > Users lists Grant/Recall licenses for license managers, not other admins."""
    grant = reverse("wagtail_licensing_users:bulk_action", args=["grant_licenses"])
    admin = User.objects.create_user("useradmin", password="pw")
    admin.groups.add(user_admins_group())
    give_license(admin)
    client.force_login(admin)
    html = client.get(reverse("wagtailusers_users:index")).content.decode()
    assert "bulk-actions-buttons" in html
    assert grant not in html
    assert "Grant licenses" not in html

    both = User.objects.create_user("both", password="pw")
    both.groups.add(user_admins_group(manage=True))
    give_license(both)
    client.force_login(both)
    html = client.get(reverse("wagtailusers_users:index")).content.decode()
    assert grant in html
    assert reverse("wagtail_licensing_users:bulk_action", args=["recall_licenses"]) in html
    # Wagtail's own actions are still there.
    assert reverse("wagtail_bulk_action", args=["auth", "user", "delete"]) in html


def test_licenses_entry_in_wagtails_user_listing_rows(client, site, staff):
    url = reverse("wagtail_licensing_users:user", args=[staff[0].pk])
    admin = User.objects.create_user("useradmin", password="pw")
    admin.groups.add(user_admins_group())
    give_license(admin)
    client.force_login(admin)
    assert url not in client.get(reverse("wagtailusers_users:index")).content.decode()
    admin.groups.add(user_admins_group(manage=True))
    client.force_login(User.objects.get(pk=admin.pk))
    assert url in client.get(reverse("wagtailusers_users:index")).content.decode()


def test_wagtails_generic_bulk_url_works_too(client, site, staff, manager):
    client.force_login(manager)
    response = client.post(wagtail_url("grant_licenses", *staff), {"products": ["editor"]})
    assert response.status_code == 302
    assert holders("editor") == {u.username for u in staff}


# The grant confirmation page -------------------------------------------------------------


def test_grant_page_lists_users_and_valid_products(client, installed, manager, install,
                                                   make_users):
    operations.grant([manager], ["analytics"])
    install(products=[
        product("editor", "named", 5, name="CMS editor"),
        product("analytics", "named", None, name="Analytics"),
        product("old", "named", 5, name="Old product", valid_from=date(1999, 1, 1),
                valid_until=date(2000, 1, 1)),
        product("portal", "portal", 3, name="Customer portal"),
    ])
    staff = make_users(3, prefix="staff")
    operations.grant(staff[:2], ["editor"])
    client.force_login(manager)
    response = client.get(grant_url(*staff))
    page = text(response.content.decode())
    for user in staff:
        assert user.get_username() in page
    assert "3 of 5 available" in page
    assert "Unlimited" in page
    assert "2 of 3 available" not in page and "3 of 3 available" in page
    # The expired product cannot be granted, so it is not offered.
    codes = [code for code, _label in response.context["form"].fields["products"].choices]
    assert codes == ["analytics", "editor", "portal"]


def test_grant_page_names_fifty_users_then_counts(client, site, manager, make_users):
    users = make_users(60, prefix="many")
    client.force_login(manager)
    response = client.get(grant_url(*users))
    assert response.context["count"] == 60
    assert len(response.context["items"]) == 50
    assert "and 10 more users" in text(response.content.decode())


def test_nothing_selected(client, site, manager):
    client.force_login(manager)
    response = client.get(grant_url() + "&id=not-a-pk")
    assert "No users are selected." in response.content.decode()
    response = client.post(grant_url() + "&id=999999", {"products": ["editor"]})
    assert messages_of(response) == [("warning", "No users were selected, so nothing changed.")]


def test_at_least_one_product(client, site, staff, manager):
    client.force_login(manager)
    response = client.post(grant_url(*staff), {})
    assert response.status_code == 200
    assert "Tick at least one product." in response.content.decode()
    response = client.post(grant_url(*staff), {"products": ["no-such-product"]})
    assert response.status_code == 200
    assert LicenseAssignment.objects.filter(user__in=staff).count() == 0


def test_partial_grant_reports_successes_and_refusals_apart(client, site, manager, make_users):
    staff = make_users(3, prefix="staff")
    inactive = make_users(1, prefix="gone", active=False)
    portal = make_users(1, prefix="ext", portal=True)
    operations.grant(staff[:1], ["analytics"])
    others = make_users(4, prefix="other")
    operations.grant(others, ["editor"])  # 4 of 5 seats used: 1 left for 3 staff
    client.force_login(manager)
    response = client.post(grant_url(*staff, *inactive, *portal),
                           {"products": ["editor", "analytics"]})
    (done_level, done), (refused_level, refused) = messages_of(response)
    # What was done is green, what was refused a warning: never one red box for both.
    assert done_level == "success"
    assert done == "Granted Analytics (analytics) to 2 users: staff1 and staff2."
    assert refused_level == "warning"
    assert ("CMS editor (editor) was not granted: 3 seats are needed but only 1 of 5 is "
            "available.") in refused
    assert "Skipped 1 user who already holds Analytics (analytics): staff0." in refused
    assert "Skipped 1 portal user for Analytics (analytics), which portal users cannot hold: " \
           "ext0." in refused
    assert "Skipped 1 inactive user: gone0. Activate the account first." in refused
    # Sentences, not a bulleted list under a headline.
    raw = [str(m) for m in response.wsgi_request._messages]
    assert not any("<li>" in m for m in raw)
    assert holders("editor") == {u.username for u in others}


def test_grant_refused_entirely_stays_an_error(client, site, manager, make_users):
    staff = make_users(3, prefix="staff")
    operations.grant(make_users(4, prefix="other"), ["editor"])
    client.force_login(manager)
    response = client.post(grant_url(*staff), {"products": ["editor"]})
    (level, message), = messages_of(response)
    assert level == "error"
    assert message.startswith("CMS editor (editor) was not granted")


def test_grant_success_is_green(client, site, staff, manager):
    client.force_login(manager)
    response = client.post(grant_url(*staff[:2]), {"products": ["editor"]})
    assert messages_of(response) == [
        ("success", "Granted CMS editor (editor) to 2 users: staff0 and staff1.")]


def test_grant_message_escapes_names(client, site, manager):
    User.objects.create_user("<b>bold</b>")
    client.force_login(manager)
    response = client.post(grant_url(User.objects.get(username="<b>bold</b>")),
                           {"products": ["editor"]})
    raw = str(list(response.wsgi_request._messages)[0])
    assert "<b>bold</b>" not in raw
    assert "&lt;b&gt;bold&lt;/b&gt;" in raw


def test_grant_redirects_to_the_listing_it_came_from(client, site, staff, manager):
    client.force_login(manager)
    back = reverse("wagtail_licensing_users:index") + "?product=editor"
    response = client.post(grant_url(*staff, next_url=back), {"products": ["editor"]})
    assert response["Location"] == back
    response = client.post(grant_url(*staff, next_url="https://evil.example.com/"),
                           {"products": ["analytics"]})
    assert not response["Location"].startswith("https://evil")


# Recall --------------------------------------------------------------------------------------


def test_recall_offers_only_products_the_selected_users_hold(client, site, manager, staff):
    operations.grant(staff[:2], ["editor"])
    operations.grant(staff[:1], ["analytics"])
    client.force_login(manager)
    response = client.get(recall_url(*staff))
    choices = dict(response.context["form"].fields["products"].choices)
    assert choices == {"analytics": "Analytics (analytics)", "editor": "CMS editor (editor)"}
    page = text(response.content.decode())
    assert "Held by 2 selected users" in page
    assert "Held by 1 selected user" in page
    # The manager holds analytics too, but is not selected: not counted.


def test_recall(client, site, manager, staff):
    operations.grant(staff, ["editor"])
    client.force_login(manager)
    response = client.post(recall_url(*staff[:3]), {"products": ["editor"]})
    assert holders("editor") == {"staff3"}
    (level, message), = messages_of(response)
    assert level == "success"
    assert message == "Recalled CMS editor (editor) from 3 users: staff0, staff1 and staff2."
    # The audit log names who did it and that it was a bulk action.
    entry = ModelLogEntry.objects.filter(action="wagtail_licensing.recall").latest("timestamp")
    assert entry.data["source"] == "bulk"
    assert entry.user_id == manager.pk


def test_recall_with_nothing_held(client, site, manager, staff):
    client.force_login(manager)
    response = client.get(recall_url(*staff))
    assert "None of the selected users holds a license" in response.content.decode()
    response = client.post(recall_url(*staff), {"products": ["editor"]})
    assert response.status_code == 200  # not a choice: the form says so
    assert LicenseAssignment.objects.filter(user__in=staff).count() == 0


def test_recall_frees_seats_for_over_allocated_holders(client, installed, manager, make_users,
                                                       install):
    operations.grant([manager], ["analytics"])
    users = make_users(5, prefix="seat")
    operations.grant(users, ["editor"])
    install(products=[product("editor", "named", 3, name="CMS editor"),
                      product("analytics", "named", None, name="Analytics")])
    assert LicenseAssignment.objects.filter(product_code="editor", has_seat=False).count() == 2
    client.force_login(manager)
    client.post(recall_url(*users[:2]), {"products": ["editor"]})
    assert LicenseAssignment.objects.filter(product_code="editor", has_seat=False).count() == 0


# "Select all" across pages, with the listing's filters ------------------------------------


def test_select_all_honours_system_users_filters(client, site, manager, make_users):
    make_users(3, prefix="keep")
    make_users(2, prefix="keep", active=False)
    make_users(4, prefix="other")
    client.force_login(manager)
    listing = reverse("wagtail_licensing_users:index") + "?q=keep&is_active=true"
    url = (reverse("wagtail_licensing_users:bulk_action", args=["grant_licenses"]) + "?"
           + urlencode([("q", "keep"), ("is_active", "true"), ("id", "all"),
                        ("next", listing)]))
    response = client.get(url)
    assert response.context["count"] == 3
    client.post(url, {"products": ["editor"]})
    assert holders("editor") == {"keep0", "keep1", "keep2"}


def test_select_all_with_a_licensing_filter(client, site, manager, make_users):
    users = make_users(6, prefix="lic")
    operations.grant(users[:4], ["editor"])
    client.force_login(manager)
    listing = reverse("wagtail_licensing_users:index") + "?product=editor"
    url = recall_url(product="editor", next_url=listing) + "&id=all"
    assert client.get(url).context["count"] == 4
    client.post(url, {"products": ["editor"]})
    assert holders("editor") == set()


def test_select_all_honours_wagtails_user_listing_filters(client, site, make_users):
    """From Settings > Users, "select all" takes that listing's own filters and search."""
    make_users(3, prefix="keep")
    make_users(2, prefix="keep", active=False)
    make_users(2, prefix="other")
    both = User.objects.create_user("both", password="pw")
    both.groups.add(user_admins_group(manage=True))
    give_license(both)
    client.force_login(both)
    listing = reverse("wagtailusers_users:index") + "?q=keep&is_active=true"
    url = (reverse("wagtail_licensing_users:bulk_action", args=["grant_licenses"]) + "?"
           + urlencode([("q", "keep"), ("is_active", "true"), ("id", "all"),
                        ("next", listing)]))
    assert client.get(url).context["count"] == 3
    client.post(url, {"products": ["editor"]})
    assert holders("editor") == {"keep0", "keep1", "keep2"}


def test_select_all_uses_filters_only_wagtails_user_listing_has(client, site, make_users):
    """Settings > Users filters on "Administrator" (is_superuser), which System users lacks:
    "select all" there takes that listing's own queryset, not the System users filters."""
    make_users(3, prefix="keep")
    User.objects.create_superuser("keepboss", "keepboss@example.com", "pw")
    both = User.objects.create_user("both", password="pw")
    both.groups.add(user_admins_group(manage=True))
    give_license(both)
    client.force_login(both)
    listing = reverse("wagtailusers_users:index") + "?q=keep&is_superuser=false"
    url = (reverse("wagtail_licensing_users:bulk_action", args=["grant_licenses"]) + "?"
           + urlencode([("q", "keep"), ("is_superuser", "false"), ("id", "all"),
                        ("next", listing)]))
    assert client.get(url).context["count"] == 3
    client.post(url, {"products": ["editor"]})
    assert holders("editor") == {"keep0", "keep1", "keep2"}


def test_select_all_without_a_known_listing_uses_the_query_string(client, site, manager,
                                                                 make_users):
    make_users(2, prefix="keep")
    make_users(2, prefix="other")
    client.force_login(manager)
    url = (reverse("wagtail_licensing_users:bulk_action", args=["grant_licenses"]) + "?"
           + urlencode([("q", "keep"), ("id", "all"), ("next", "/admin/pages/")]))
    assert client.get(url).context["count"] == 2


# Constant queries, one transaction ------------------------------------------------------------


def _select_all_url(action, prefix):
    listing = reverse("wagtail_licensing_users:index") + f"?q={prefix}"
    return (reverse("wagtail_licensing_users:bulk_action", args=[action]) + "?"
            + urlencode([("q", prefix), ("id", "all"), ("next", listing)]))


def _measure(client, action, prefix, products):
    url = _select_all_url(action, prefix)
    client.get(url)  # warm caches
    with count_queries() as page:
        response = client.get(url)
    assert response.status_code == 200
    with count_queries() as submit:
        response = client.post(url, {"products": products})
    assert response.status_code == 302
    refresh_planner_statistics()  # thousands of assignments were just written
    return len(page), len(submit)


@pytest.mark.slow
def test_query_counts_do_not_depend_on_the_selection(client, installed, manager, install,
                                                     make_users):
    install(products=[product("editor", "named", None, name="CMS editor"),
                      product("analytics", "named", None, name="Analytics")])
    operations.grant([manager], ["analytics"])
    client.force_login(manager)
    make_users(10, prefix="small")
    make_users(2000, prefix="large")
    small = _measure(client, "grant_licenses", "small", ["editor"])
    large = _measure(client, "grant_licenses", "large", ["editor"])
    assert holders("editor") >= {"small0", "large1999"}
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 2010
    # Granting changes the state: the page then reads fresh state once, as the small run did.
    assert large == small
    small = _measure(client, "recall_licenses", "small", ["editor"])
    large = _measure(client, "recall_licenses", "large", ["editor"])
    assert large == small
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 0


@pytest.mark.slow
def test_ten_thousand_users_in_one_grant(client, installed, manager, install, make_users):
    install(products=[product("editor", "named", 20000, name="CMS editor"),
                      product("analytics", "named", None, name="Analytics")])
    operations.grant([manager], ["analytics"])
    make_users(10_000, prefix="bulk")
    client.force_login(manager)
    version = LicensingState.get().version
    with count_queries() as queries:
        response = client.post(_select_all_url("grant_licenses", "bulk"),
                               {"products": ["editor", "analytics"]})
    assert response.status_code == 302
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 10_000
    assert LicenseAssignment.objects.filter(product_code="analytics").count() == 10_001
    assert len(queries) < 40
    assert LicensingState.get().version == version + 1  # one operation, one transaction


def test_bulk_action_is_one_transaction(client, site, staff, manager):
    """A failure after the operation (here an after_bulk_action hook) undoes all of it."""
    from wagtail import hooks

    def explode(request, action_type, objects, action):
        raise RuntimeError("boom")

    client.force_login(manager)
    client.raise_request_exception = True
    with hooks.register_temporarily("after_bulk_action", explode):
        with pytest.raises(RuntimeError):
            client.post(grant_url(*staff), {"products": ["editor"]})
    assert holders("editor") == set()


def test_a_grant_racing_delete_licenses_is_refused_not_a_500(client, site, staff, manager,
                                                             monkeypatch):
    """The license is deleted after the form was checked and before the grant runs."""
    real_grant = operations.grant

    def grant_after_a_delete(*args, **kwargs):
        operations.delete_licenses()
        return real_grant(*args, **kwargs)

    monkeypatch.setattr(operations, "grant", grant_after_a_delete)
    client.force_login(manager)
    response = client.post(grant_url(*staff[:2]), {"products": ["editor"]})
    assert response.status_code == 302
    (level, message), = messages_of(response)
    assert level == "error" and "No license is installed (demo mode)" in message
    assert holders("editor") == set()
