"""What each row of the System users listing and of Settings > Users carries from licensing:
the row menu's links (reversed once per page by ``row_url``), and the cells written in Python.
"""

import re
from types import SimpleNamespace

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import NoReverseMatch, reverse

from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.models import GroupLicenseError, PortalUser
from wagtail_licensing.views import system_users
from wagtail_licensing.views.system_users import LicensesColumn, TypeColumn, UsernameEmailColumn
from wagtail_licensing.views.user_listing import row_url

User = get_user_model()
INDEX = "wagtail_licensing_users:index"


@pytest.mark.parametrize("key", [5, "alice", "a b", "x/y", "a_b:c%d", "é?&=#", "0wlkey0"])
def test_row_url_is_what_reverse_gives(db, key):
    for name in ["wagtail_licensing_users:user", "wagtail_licensing_users:convert_to_portal_user"]:
        assert row_url(name)(SimpleNamespace(pk=key)) == reverse(name, args=[quote(key)])


def test_row_url_on_an_int_pattern(db):
    # Settings > Users' edit URL takes <int:pk> for an integer key.
    edit = row_url("wagtailusers_users:edit")
    for key in [1, 42, 9731059731, 123456789012]:
        assert edit(SimpleNamespace(pk=key)) == reverse("wagtailusers_users:edit", args=[key])


MENU_LABELS = {"Licenses", "Edit user", "Convert to portal user"}


def row_links(html):
    """{username: [(label, href)]} of each row's "..." menu."""
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S):
        username = re.search(r'<td class="username">\s*([^<\s]+)', row)
        if username:
            links = [(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", label)).strip(), href)
                     for href, label in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', row,
                                                   re.S)]
            rows[username.group(1)] = [link for link in links if link[0] in MENU_LABELS]
    return rows


@pytest.fixture
def people(installed, manager):
    alice = User.objects.create_user("alice", "alice@example.com", "pw", first_name="Alice")
    portal = User.objects.create_user("pat", "pat@example.com", "pw")
    PortalUser.objects.create(user=portal)
    operations.grant([manager], ["analytics"], user=manager)
    return {"alice": alice, "pat": portal}


def test_row_menu_links(client, people, manager):
    manager.user_permissions.add(Permission.objects.get(codename="change_user"))
    client.force_login(manager)
    rows = row_links(client.get(reverse(INDEX)).content.decode())
    alice, pat = people["alice"], people["pat"]
    assert rows["alice"] == [
        ("Licenses", reverse("wagtail_licensing_users:user", args=[alice.pk])),
        ("Edit user", reverse("wagtailusers_users:edit", args=[alice.pk])),
        ("Convert to portal user",
         reverse("wagtail_licensing_users:convert_to_portal_user", args=[alice.pk])),
    ]
    # A portal user is not converted again.
    assert [label for label, _href in rows["pat"]] == ["Licenses", "Edit user"]
    assert rows["pat"][0][1] == reverse("wagtail_licensing_users:user", args=[pat.pk])


def test_row_menu_without_the_right_to_edit_accounts(client, people, manager):
    client.force_login(manager)
    rows = row_links(client.get(reverse(INDEX)).content.decode())
    assert [label for label, _href in rows["alice"]] == ["Licenses", "Convert to portal user"]


def test_settings_users_rows_link_to_licenses_for_managers_only(client, people, manager,
                                                                make_users):
    change_user = Permission.objects.get(codename="change_user")
    manager.user_permissions.add(change_user)
    client.force_login(manager)
    html = client.get(reverse("wagtailusers_users:index")).content.decode()
    for user in people.values():
        assert reverse("wagtail_licensing_users:user", args=[user.pk]) in html
    # Someone who may edit accounts but not manage licenses: no Licenses link.
    (admin,) = make_users(1, prefix="accounts")
    admin.user_permissions.add(change_user, Permission.objects.get(codename="access_admin"))
    operations.grant([admin], ["analytics"], user=manager)
    client.force_login(admin)
    html = client.get(reverse("wagtailusers_users:index")).content.decode()
    assert reverse("wagtail_licensing_users:user", args=[people["alice"].pk]) not in html


def test_the_row_menu_costs_no_query_a_row(client, people, manager, make_users):
    manager.user_permissions.add(Permission.objects.get(codename="change_user"))
    client.force_login(manager)
    client.get(reverse(INDEX))
    with count_queries() as few:
        client.get(reverse(INDEX))
    make_users(30)
    with count_queries() as many:
        client.get(reverse(INDEX))
    assert len(many) == len(few)


# Cells written in Python: the markup the templates wrote ---------------------------------


def products():
    return {"editor": SimpleNamespace(name="CMS editor")}


def assignment(code, has_seat=True, direct=True):
    return SimpleNamespace(product_code=code, has_seat=has_seat, direct=direct)


def user(**attributes):
    values = {"is_active": True, "_licensing_assignments": [], "_licensing_is_portal": False,
              "_licensing_has_problem": False}
    values.update(attributes)
    return SimpleNamespace(**values)


def cell(column, instance):
    return str(column.render_cell_html(instance, {}))


def test_licenses_cell(db):
    column = LicensesColumn("licenses", get_products=products)
    assert cell(column, user()) == "<td></td>"
    html = cell(column, user(_licensing_assignments=[assignment("editor")]))
    assert html == ('<td><ul class="wl-license-tags"><li><span class="w-status '
                    'w-status--primary" title="editor">CMS editor</span></li></ul></td>')
    html = cell(column, user(_licensing_assignments=[assignment("editor", direct=False)]))
    assert ('title="Through a group" data-inherited>CMS editor <span class="w-sr-only">'
            '(through a group)</span><span aria-hidden="true">⇄</span></span>') in html
    html = cell(column, user(is_active=False, _licensing_assignments=[assignment("editor")]))
    assert 'class="w-status wl-license-tag--no-seat"' in html and "(no seat)" in html
    html = cell(column, user(_licensing_assignments=[assignment("gone<b>")]))
    assert ('<span class="w-status wl-license-tag--not-installed" title="Not in the installed '
            'license">gone&lt;b&gt;</span>') in html
    html = cell(column, user(_licensing_has_problem=True))
    assert "data-licensing-problem" in html and "see Licensing &gt; Groups" in html


def test_type_and_username_cells(db):
    assert cell(TypeColumn("type"), user()) == "<td>Employee</td>"
    assert cell(TypeColumn("type"), user(_licensing_is_portal=True)) == (
        '<td><span class="w-status w-status--primary">Portal user</span></td>')
    someone = User(username="a<b", email="a@example.com")
    assert cell(UsernameEmailColumn("username", classname="username"), someone) == (
        '<td class="username">a&lt;b<div class="wl-muted">a@example.com</div></td>')
    same = User(username="a@example.com", email="a@example.com")
    assert cell(UsernameEmailColumn("username"), same) == "<td>a@example.com</td>"


def test_problem_tag_in_the_listing(client, people, manager):
    GroupLicenseError.objects.create(user=people["alice"], group=manager.groups.first(),
                                     product_code="editor", reason="not_enough_seats")
    client.force_login(manager)
    html = client.get(reverse(INDEX), {"q": "alice"}).content.decode()
    assert "data-licensing-problem" in html


def test_row_url_of_an_unknown_name_fails_as_reverse_does(db):
    with pytest.raises(NoReverseMatch):
        row_url("no-such-url")(SimpleNamespace(pk=1))


def test_no_edit_link_where_settings_users_has_none(rf, people, manager, monkeypatch):
    manager.user_permissions.add(Permission.objects.get(codename="change_user"))
    request = rf.get("/")
    request.user = User.objects.get(pk=manager.pk)
    assert system_users.wagtail_user_edit_url(request, people["alice"]) == reverse(
        "wagtailusers_users:edit", args=[people["alice"].pk])
    monkeypatch.setattr(system_users, "row_url", lambda name: row_url("no-such-url"))
    assert system_users.wagtail_user_edit_url(request, people["alice"]) is None
