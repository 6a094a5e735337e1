"""Our templates that extend Wagtail's keep Wagtail's own markup (no copy tracks a release)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from ..support.users import give_license, user_admins_group

User = get_user_model()


def edit_url(user):
    return reverse("wagtailusers_users:edit", args=[user.pk])


def tab_markup(html, tab_id):
    """The nav link and panel of one tab, whitespace collapsed (to compare two renderings)."""
    nav = re.search(rf'<a[^>]*id="tab-label-{tab_id}".*?</a>', html, re.S)
    panel = re.search(rf'<section[^>]*id="tab-{tab_id}".*?</section>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"\s*>\s*", ">", match.group(0))).strip()
            for match in (nav, panel)]


@pytest.fixture
def pages(client, installed, superuser):
    """Bob's edit page seen by a user admin, and by a user admin who also manages licenses."""
    give_license(superuser)
    bob = User.objects.create_user("bob", password="pw")
    plain = User.objects.create_user("useradmin", password="pw")
    plain.groups.add(user_admins_group())
    both = User.objects.create_user("both", password="pw")
    both.groups.add(user_admins_group(manage=True))
    rendered = {}
    for viewer in (plain, both):
        give_license(viewer)
        client.force_login(viewer)
        rendered[viewer.username] = client.get(edit_url(bob)).content.decode()
    return rendered


def test_the_account_and_roles_tabs_are_wagtails_own(pages):
    assert 'id="tab-licenses"' not in pages["useradmin"]
    assert 'id="tab-licenses"' in pages["both"]
    for tab_id in ("account", "roles"):
        assert tab_markup(pages["both"], tab_id) == tab_markup(pages["useradmin"], tab_id)


def test_the_licenses_tab_follows_wagtails_tabs_inside_the_tab_list(pages):
    html = pages["both"]
    tablist = re.search(r'role="tablist".*?class="tab-content"', html, re.S).group(0)
    assert tablist.index('id="tab-label-roles"') < tablist.index('id="tab-label-licenses"')
    content = html[html.index('class="tab-content"'):]
    assert content.index('id="tab-roles"') < content.index('id="tab-licenses"')
    assert html.count('id="tab-licenses"') == 1
    assert html.count('id="tab-label-licenses"') == 1
