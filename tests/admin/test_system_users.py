"""The System users listing and the page of one user's licenses."""

import csv
import io
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from tests.support.licenses import DEFAULT_PRODUCTS, product, today
from tests.support.menu import licensing_menu_items
from tests.support.queries import count_queries
from tests.support.users import holders, messages_of, text
from wagtail_licensing import operations
from wagtail_licensing.filters import SystemUserFilterSet, filter_users, product_choices
from wagtail_licensing.models import LicenseAssignment, LicensingState, PortalUser

INDEX = "wagtail_licensing_users:index"
User = get_user_model()


@pytest.fixture
def site(installed, make_users, manager):
    """Alice and Bob hold the CMS editor product; Carol is inactive; two portal users."""
    people = {}
    for username, first, last in [("alice", "Alice", "Archer"), ("bob", "Bob", "Baker"),
                                  ("carol", "Carol", "Cook"), ("dave", "Dave", "Dale")]:
        people[username] = User.objects.create_user(username, f"{username}@example.com", "pw",
                                                    first_name=first, last_name=last)
    writers = Group.objects.create(name="Writers")
    writers.user_set.add(people["alice"], people["carol"])
    portal = make_users(2, prefix="portal", portal=True)
    operations.grant([people["alice"], people["bob"], people["carol"]], ["editor"], user=manager)
    operations.grant([people["alice"]], ["analytics"], user=manager)
    operations.grant(portal[:1], ["portal"], user=manager)
    # The manager holds a license too, so that enforcement lets them everywhere quietly.
    operations.grant([manager], ["analytics"], user=manager)
    people["carol"].is_active = False
    people["carol"].save()
    return people


def listing(client, **params):
    return client.get(reverse(INDEX), params)


def usernames(response):
    return [user.get_username() for user in response.context["object_list"]]


# Access ----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, site):
    response = listing(client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))


def test_editor_is_refused(client, site, editor):
    operations.grant([editor], ["analytics"])  # licensed: the refusal is the permission's
    client.force_login(editor)
    for url in [reverse(INDEX), reverse("wagtail_licensing_users:user", args=[site["bob"].pk]),
                reverse("wagtail_licensing_users:add_portal_user"),
                reverse(INDEX) + "?export=csv"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("wagtailadmin_home")


def test_editor_cannot_tell_users_apart(client, site, editor):
    operations.grant([editor], ["analytics"])
    client.force_login(editor)
    response = client.get(reverse("wagtail_licensing_users:user", args=["999999"]))
    assert response.status_code == 302


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_managers_and_superusers_get_in(client, site, request, who):
    client.force_login(request.getfixturevalue(who))
    response = listing(client)
    assert response.status_code == 200
    assert "alice" in usernames(response)


def test_unknown_user_is_404_for_managers(client, site, manager):
    client.force_login(manager)
    for pk in ["999999", "not-a-number"]:
        response = client.get(reverse("wagtail_licensing_users:user", args=[pk]))
        assert response.status_code == 404


def test_menu_item_for_managers_only(rf, site, editor, manager):
    request = rf.get("/admin/")
    request.user = editor
    assert "system-users" not in licensing_menu_items(request)
    request.user = manager
    items = licensing_menu_items(request)
    assert items["system-users"].url == reverse(INDEX)
    assert str(items["system-users"].label) == "System users"
    assert items["system-users"].order == 200


# Columns -----------------------------------------------------------------------------------


def test_columns(client, site, manager):
    client.force_login(manager)
    response = listing(client, q="alice")
    html = response.content.decode()
    row = text(html[html.index("alice@example.com") - 2000: html.index("alice@example.com")
                    + 2500])
    assert "Alice Archer" in row
    assert "Writers" in row
    assert "CMS editor" in row and "Analytics" in row
    assert "Employee" in row
    # Headings of the columns the issue asks for.
    labels = [str(column.label) for column in response.context["table"].columns.values()]
    assert labels[1:] == ["Name", "Username / e-mail", "Active", "Type", "Groups", "Licenses",
                          "Last login"]
    # The name links to the user's licenses in System users.
    assert reverse("wagtail_licensing_users:user", args=[site["alice"].pk]) in html


def test_license_without_seat_is_marked(client, site, manager):
    client.force_login(manager)
    html = listing(client, q="carol").content.decode()
    assert "wl-license-tag--no-seat" in html
    assert "(no seat)" in html
    html = listing(client, q="bob").content.decode()
    assert "wl-license-tag--no-seat" not in html


def test_portal_users_are_marked(client, site, manager):
    client.force_login(manager)
    html = listing(client, q="portal0").content.decode()
    assert "Portal user" in html
    assert "Customer portal" in html


def test_product_missing_from_the_license_is_shown_as_such(client, site, manager, install):
    install(products=[product("analytics", "named", None, name="Analytics")])
    client.force_login(manager)
    html = listing(client, q="bob").content.decode()
    assert "wl-license-tag--not-installed" in html
    assert ">editor<" in html.replace(" ", "").replace("\n", "")


def test_text_is_escaped(client, installed, manager, install):
    evil = "<img src=x onerror=alert(1)>"
    install(products=[product("evil", "named", 5, name=evil)])
    user = User.objects.create_user("mallory", "m@example.com", first_name=evil,
                                    last_name="<b>x</b>")
    Group.objects.create(name="<script>alert(2)</script>").user_set.add(user)
    operations.grant([user], ["evil"])
    client.force_login(manager)
    html = listing(client).content.decode()
    assert evil not in html
    assert "<script>alert(2)</script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


# Filters, search, ordering, pagination ------------------------------------------------------


@pytest.mark.parametrize("params,expected", [
    ({"is_active": "false"}, {"carol"}),
    ({"licensed": "licensed"}, {"alice", "bob", "carol", "portal0", "manager"}),
    ({"licensed": "unlicensed"}, {"dave", "portal1"}),
    ({"licensed": "without_seat"}, {"carol"}),
    ({"product": "analytics"}, {"alice", "manager"}),
    ({"product": ["analytics", "portal"]}, {"alice", "manager", "portal0"}),
    ({"type": "portal"}, {"portal0", "portal1"}),
    ({"type": "employee", "licensed": "licensed"}, {"alice", "bob", "carol", "manager"}),
    ({"q": "baker"}, {"bob"}),
    ({"q": "alice archer"}, {"alice"}),
    ({"q": "EXAMPLE.COM", "is_active": "true", "licensed": "licensed"},
     {"alice", "bob", "portal0", "manager"}),
])
def test_filters_and_search(client, site, manager, params, expected):
    client.force_login(manager)
    response = listing(client, **params)
    assert response.status_code == 200
    assert set(usernames(response)) == expected


def test_group_filter(client, site, manager):
    client.force_login(manager)
    writers = Group.objects.get(name="Writers")
    assert set(usernames(listing(client, group=writers.pk))) == {"alice", "carol"}


def test_filters_never_duplicate_users(client, site, manager):
    # Alice holds two products and is in two groups: she is listed once.
    Group.objects.create(name="Readers").user_set.add(site["alice"])
    client.force_login(manager)
    groups = list(Group.objects.values_list("pk", flat=True))
    names = usernames(listing(client, group=groups, product=["editor", "analytics"]))
    assert names.count("alice") == 1


def test_filter_choices_list_installed_products(client, site, manager):
    client.force_login(manager)
    form = listing(client).context["filters"].form
    choices = dict(form.fields["product"].choices)
    assert choices == {p["code"]: f"{p['name']} ({p['code']})" for p in DEFAULT_PRODUCTS}


def test_filter_choices_add_codes_held_but_not_installed(client, site, manager, install,
                                                        make_users):
    install(products=[product("analytics", "named", None, name="Analytics")])
    choices = dict(product_choices())
    assert choices == {"analytics": "Analytics (analytics)",
                       "editor": "editor (not in the installed license)",
                       "portal": "portal (not in the installed license)"}
    # Read from the seat counters: two queries, however many users hold those codes.
    operations.grant(make_users(30, prefix="more"), ["analytics"])
    with count_queries() as queries:
        assert dict(product_choices()) == choices
    assert len(queries) == 2


def test_ordered_by_username_by_default(client, site, manager):
    # As Settings > Users: the username's index gives the first page (no index on names).
    client.force_login(manager)
    names = usernames(listing(client, type="employee"))
    assert names == ["alice", "bob", "carol", "dave", "manager"]
    assert usernames(listing(client, type="employee", ordering="-username"))[0] == "manager"


def test_ordering(client, site, manager):
    client.force_login(manager)
    # By last name: Archer, Baker, Cook, Dale, Manager.
    names = usernames(listing(client, ordering="name", type="employee"))
    assert names == ["alice", "bob", "carol", "dave", "manager"]
    names = usernames(listing(client, ordering="-name", type="employee"))
    assert names == ["manager", "dave", "carol", "bob", "alice"]
    # Most recent login first, users who never logged in last (on SQLite and PostgreSQL).
    User.objects.filter(username="bob").update(last_login=site["bob"].date_joined)
    User.objects.filter(username="manager").update(last_login=None)
    names = usernames(listing(client, ordering="-last_login"))
    assert names[0] == "bob"
    names = usernames(listing(client, ordering="last_login"))
    assert names[-1] == "bob"
    assert usernames(listing(client, ordering="username"))[0] == "alice"


def test_ordering_by_type(client, site, manager):
    # Employees first (in key order), then portal users; the reverse puts portal users first.
    employees = list(User.objects.exclude(username__startswith="portal").order_by("pk")
                     .values_list("username", flat=True))
    portal = list(User.objects.filter(username__startswith="portal").order_by("pk")
                  .values_list("username", flat=True))
    client.force_login(manager)
    assert usernames(listing(client, ordering="_licensing_is_portal")) == employees + portal
    assert usernames(listing(client, ordering="-_licensing_is_portal")) == portal + employees
    # Still filtered and searched as the listing is.
    assert usernames(listing(client, ordering="-_licensing_is_portal", q="portal1")) == [
        "portal1"]


def test_sorted_listing_reads_profiles_apart(client, site, manager):
    """A sort by a column without an index sorts every user: the avatars' profiles are
    prefetched for the page, never joined to every user before sorting."""
    client.force_login(manager)
    for ordering in ("name", "_licensing_is_portal", "-is_active", "username"):
        with count_queries() as queries:
            listing(client, ordering=ordering)
        pages = [q["sql"] for q in queries if "LIMIT" in q["sql"] and "auth_user" in q["sql"]
                 and "ORDER BY" in q["sql"]]
        assert pages, ordering
        assert not any("wagtailusers_userprofile" in sql for sql in pages), ordering
        assert any("wagtailusers_userprofile" in q["sql"] for q in queries), ordering


@pytest.mark.parametrize("params", [
    {"product": "editor"}, {"product": "analytics"}, {"product": "portal"},
    {"product": "reports"},  # installed, held by nobody: no counter row
    {"type": "portal"}, {"type": "employee"},
    {"licensed": "licensed"}, {"licensed": "unlicensed"}, {"licensed": "without_seat"},
    {"is_active": "true"}, {"is_active": "false"}, {"group": "WRITERS"},
    # Not from the counters (counted as usual), and still right:
    {"product": ["editor", "analytics"]}, {"product": "editor", "is_active": "true"},
    {"product": "editor", "q": "a"}, {"type": "portal", "licensed": "licensed"}, {},
])
def test_listing_count_is_exact(client, site, manager, params):
    if params.get("group") == "WRITERS":
        params = {"group": Group.objects.get(name="Writers").pk}
    client.force_login(manager)
    response = listing(client, **params)
    expected = filter_users(QueryDict(urlencode(params, doseq=True))).count()
    assert response.context["page_obj"].paginator.count == expected
    assert len(response.context["object_list"]) == expected


@pytest.mark.parametrize("params", [{"product": "editor"}, {"type": "portal"},
                                    {"licensed": "unlicensed"}, {"licensed": "licensed"},
                                    {"licensed": "without_seat"}, {"is_active": "false"}])
def test_product_and_type_counts_come_from_the_counters(client, site, manager, params):
    """One product ticked (its holders' counter), a type (the portal users), holding a
    license or not (the license holders, and the census's users less them) or a status (the
    census): the page counts no user."""
    client.force_login(manager)
    listing(client, **params)
    with count_queries() as queries:
        listing(client, **params)
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()
              and "auth_user" in q["sql"]]
    assert counts == []


@pytest.mark.parametrize(("ordering", "keys_first"), [
    ("username", False), ("-username", False), ("-name", True), ("_licensing_is_portal", True),
    ("-last_login", True)])
def test_pages_in_order_read_keys_first(client, installed, manager, make_users, ordering,
                                        keys_first):
    """Each page holds the users of the listing's order. Sorted by a column without an index,
    a page is read in two steps (the page's keys sorted: narrow rows, then those users); in
    the username's order, which its index gives, in one query as before."""
    make_users(110, portal=False)
    make_users(5, prefix="p", portal=True)
    client.force_login(manager)
    seen = []
    for page in (1, 2, 3):
        with count_queries() as queries:
            response = listing(client, ordering=ordering, p=page)
        seen += usernames(response)
        paged = [q["sql"] for q in queries if q["sql"].lstrip().startswith("SELECT")
                 and "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]
                 and '"auth_user"' in q["sql"].split("FROM")[1]]
        wide = [sql for sql in paged if '"auth_user"."password"' in sql]
        assert len(paged) == 1, ordering
        assert (not wide) == keys_first, ordering
    expected = [u.get_username() for u in listing(client, ordering=ordering).context[
        "page_obj"].paginator.object_list]
    assert seen == expected
    assert len(seen) == len(set(seen)) == User.objects.count()


def test_pagination(client, installed, manager, make_users):
    make_users(120)
    client.force_login(manager)
    first = listing(client, ordering="username")
    assert len(first.context["object_list"]) == 50
    assert first.context["page_obj"].paginator.count == 121
    third = listing(client, ordering="username", p=3)
    assert len(third.context["object_list"]) == 21
    assert not set(usernames(first)) & set(usernames(third))


def test_filterset_is_reusable(site):
    """The assignment export filters users with the same class as the listing."""
    users = SystemUserFilterSet({"licensed": "licensed", "type": "employee"},
                                queryset=User.objects.all()).qs
    assert set(users.values_list("username", flat=True)) == {"alice", "bob", "carol", "manager"}
    assert set(filter_users({"q": "archer"}).values_list("username", flat=True)) == {"alice"}
    # Invalid values are ignored, as the listing does.
    assert filter_users({"is_active": "maybe"}).count() == User.objects.count()


# Query counts ------------------------------------------------------------------------------


def _populate(make_users, count, group_count=3):
    groups = [Group.objects.create(name=f"Group {i}-{count}") for i in range(group_count)]
    users = make_users(count, prefix=f"n{count}-", groups=groups)
    operations.grant(User.objects.filter(pk__in=[u.pk for u in users[: count // 2]]),
                     ["analytics"])
    operations.grant(User.objects.filter(pk__in=[u.pk for u in users[:4]]), ["editor"])
    return users


@pytest.mark.parametrize("params", [{}, {"q": "n", "licensed": "licensed"},
                                    {"ordering": "-last_login", "type": "employee"}])
@pytest.mark.slow
def test_page_query_count_does_not_depend_on_users(client, installed, manager, make_users,
                                                   params):
    client.force_login(manager)
    _populate(make_users, 5, group_count=1)
    listing(client, **params)  # warm caches (content types, licensing state)
    with count_queries() as small:
        response = listing(client, **params)
    assert response.status_code == 200
    _populate(make_users, 150, group_count=4)
    listing(client, **params)  # the licensing state changed: warm the caches again
    with count_queries() as large:
        response = listing(client, **params)
    assert len(response.context["object_list"]) == 50
    assert len(large) == len(small)


@pytest.mark.slow
def test_results_and_export_query_counts_are_bounded(client, installed, manager, make_users):
    client.force_login(manager)
    _populate(make_users, 5)
    results_url = reverse("wagtail_licensing_users:index_results")
    client.get(results_url)
    with count_queries() as small:
        client.get(results_url)
    _populate(make_users, 150)
    client.get(results_url)
    with count_queries() as large:
        client.get(results_url)
    assert len(large) == len(small)

    def export():
        response = client.get(reverse(INDEX), {"export": "csv"})
        return b"".join(response.streaming_content)

    with count_queries() as export_small:
        export()
    _populate(make_users, 300)
    export()
    with count_queries() as export_large:
        export()
    # The export reads users in chunks of 2,000 with their prefetches: 460 users, one chunk.
    assert len(export_large) == len(export_small)


# Export ------------------------------------------------------------------------------------


def test_csv_export_honours_filters(client, site, manager):
    client.force_login(manager)
    response = client.get(reverse(INDEX), {"export": "csv", "product": "editor"})
    assert response["Content-Disposition"] == 'attachment; filename="system-users.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["Username"] for row in rows} == {"alice", "bob", "carol"}
    alice = next(row for row in rows if row["Username"] == "alice")
    assert alice["Licenses"] == "analytics, editor"
    assert alice["Groups"] == "Writers"
    assert alice["Type"] == "Employee"
    carol = next(row for row in rows if row["Username"] == "carol")
    assert carol["Licenses without a seat"] == "editor"
    assert carol["Active"] == "False"


def test_xlsx_export(client, site, manager):
    client.force_login(manager)
    response = client.get(reverse(INDEX), {"export": "xlsx", "type": "portal"})
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.values)
    assert rows[0][0] == "Username"
    assert {row[0] for row in rows[1:]} == {"portal0", "portal1"}
    assert "Portal user" in rows[1]
    assert response.streaming and response["Content-Disposition"].endswith('.xlsx"')
    joined = rows[0].index("Date joined")
    assert all(isinstance(row[joined], datetime) for row in rows[1:])  # dates, as Wagtail's


def test_export_guards_against_formula_injection(client, installed, manager):
    User.objects.create_user("formula", "f@example.com", first_name="=HYPERLINK(\"x\")",
                             last_name="+1")
    client.force_login(manager)
    response = client.get(reverse(INDEX), {"export": "csv", "q": "formula"})
    row = next(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert row["First name"] == "'=HYPERLINK(\"x\")"
    assert row["Last name"] == "'+1"


# Header buttons ---------------------------------------------------------------------------


def test_add_portal_user_button(client, site, manager):
    client.force_login(manager)
    html = listing(client).content.decode()
    assert reverse("wagtail_licensing_users:add_portal_user") in html
    assert "Add portal user" in html


def test_export_licenses_button_carries_the_filters(client, site, manager):
    export_url = reverse("wagtail_licensing_assignments:export")
    client.force_login(manager)
    html = listing(client, product="editor", is_active="true", p="1").content.decode()
    assert f"{export_url}?product=editor&amp;is_active=true\"" in html


def test_bulk_actions_footer_lists_licensing_actions_only(client, site, manager):
    client.force_login(manager)
    html = listing(client).content.decode()
    assert reverse("wagtail_licensing_users:bulk_action", args=["grant_licenses"]) in html
    assert reverse("wagtail_licensing_users:bulk_action", args=["recall_licenses"]) in html
    # Wagtail's own user actions (delete, assign role) belong to Settings > Users.
    assert "/delete/" not in html.split("bulk-actions-buttons")[1].split("</ul>")[0]


# The page of one user's licenses -----------------------------------------------------------


def user_url(user):
    return reverse("wagtail_licensing_users:user", args=[user.pk])


def test_user_page_shows_products(client, site, manager):
    client.force_login(manager)
    response = client.get(user_url(site["bob"]))
    html = response.content.decode()
    assert response.status_code == 200
    page = text(html)
    assert "Bob Baker" in page
    assert "CMS editor (editor)" in page
    assert "3 of 5 available" in page  # alice and bob use two seats (carol is inactive)
    assert "Unlimited" in page
    assert "Only portal users can hold this product." in page
    form = response.context["form"]
    assert form.initial["products"] == ["editor"]
    disabled = {option.code for option in form.options if option.disabled}
    assert disabled == {"portal"}


def test_user_page_disables_products_not_valid_today(client, site, manager, install):
    install(products=[
        product("analytics", "named", None, name="Analytics"),
        product("old", "named", 5, name="Old product", valid_from=today() - timedelta(days=9),
                valid_until=today() - timedelta(days=1)),
        product("soon", "named", 5, name="Next product", valid_from=today() + timedelta(days=1),
                valid_until=today() + timedelta(days=9)),
    ])
    client.force_login(manager)
    response = client.get(user_url(site["dave"]))
    reasons = {option.code: str(option.reason) for option in response.context["form"].options
               if option.disabled}
    assert set(reasons) == {"old", "soon"}
    assert reasons["old"].startswith("Expired on ")
    assert reasons["soon"].startswith("Valid from ")
    assert reasons["old"] in text(response.content.decode())


def test_user_page_grants_and_recalls(client, site, manager):
    client.force_login(manager)
    bob = site["bob"]
    response = client.post(user_url(bob), {
        "wagtail_licensing-present": "1", "wagtail_licensing-held": "editor",
        "wagtail_licensing-products": ["analytics"]})
    assert response.status_code == 302
    assert response["Location"] == user_url(bob)
    assert "bob" in holders("analytics")
    assert "bob" not in holders("editor")
    (level, message), = messages_of(response)
    assert level == "success"
    assert "Recalled CMS editor (editor) from 1 user: bob." in message
    assert "Granted Analytics (analytics) to 1 user: bob." in message


def test_user_page_reports_a_refusal(client, site, manager, make_users):
    operations.grant(make_users(3, prefix="extra"), ["editor"])  # 5 of 5 seats used
    client.force_login(manager)
    response = client.post(user_url(site["dave"]), {
        "wagtail_licensing-present": "1", "wagtail_licensing-held": "",
        "wagtail_licensing-products": ["editor"]})
    (level, message), = messages_of(response)
    assert level == "error"
    assert "1 seat is needed but only 0 of 5 are available" in message
    assert "dave" not in holders("editor")


def test_user_page_without_changes(client, site, manager):
    client.force_login(manager)
    version = LicensingState.get().version
    response = client.post(user_url(site["bob"]), {
        "wagtail_licensing-present": "1", "wagtail_licensing-held": "editor",
        "wagtail_licensing-products": ["editor"]})
    assert messages_of(response) == [("info", "No license was changed.")]
    assert LicensingState.get().version == version


def test_stale_form_never_recalls_what_it_did_not_show(client, site, manager):
    """A product granted after the form was shown is not recalled by saving that form."""
    client.force_login(manager)
    dave = site["dave"]
    operations.grant([dave], ["analytics"])  # meanwhile, by someone else
    client.post(user_url(dave), {"wagtail_licensing-present": "1",
                                 "wagtail_licensing-held": "",
                                 "wagtail_licensing-products": ["editor"]})
    assert "dave" in holders("analytics")
    assert "dave" in holders("editor")


def test_user_page_needs_csrf(site, manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(user_url(site["dave"]), {
        "wagtail_licensing-present": "1", "wagtail_licensing-held": "",
        "wagtail_licensing-products": ["analytics"]})
    assert response.status_code == 403
    assert "dave" not in holders("analytics")


def test_editor_cannot_post_to_user_page(client, site, editor):
    operations.grant([editor], ["analytics"])
    client.force_login(editor)
    client.post(user_url(site["dave"]), {"wagtail_licensing-present": "1",
                                         "wagtail_licensing-held": "",
                                         "wagtail_licensing-products": ["analytics"]})
    assert "dave" not in holders("analytics")


def test_user_page_of_a_portal_user(client, site, manager):
    client.force_login(manager)
    portal0 = User.objects.get(username="portal0")
    response = client.get(user_url(portal0))
    form = response.context["form"]
    reasons = {option.code: str(option.reason) for option in form.options}
    assert reasons["editor"] == "Portal users cannot hold this product."
    assert reasons["portal"] == ""
    assert "Convert to portal user" not in response.content.decode()


def test_user_page_in_demo_mode(client, db, manager):
    client.force_login(manager)
    user = User.objects.create_user("solo")
    response = client.get(user_url(user))
    assert "No license is installed" in response.content.decode()
    assert PortalUser.objects.count() == 0
    assert LicenseAssignment.objects.count() == 0


# The "…" actions menu (issue 12 item 1) -----------------------------------------------------


def test_actions_menu_offers_request_and_upload_before_the_downloads(client, site, manager):
    client.force_login(manager)
    response = listing(client)
    more = response.context["header_buttons"][-1]
    labels = [str(button.label) for button in more.dropdown_buttons]
    assert labels[:2] == ["Request license", "Upload license file"]
    assert {"Download XLSX", "Download CSV"} <= set(labels)
    urls = [button.url for button in more.dropdown_buttons]
    assert urls[:2] == [reverse("wagtail_licensing:request"), reverse("wagtail_licensing:upload")]
    html = response.content.decode()
    assert reverse("wagtail_licensing:request") in html
    assert reverse("wagtail_licensing:upload") in html
