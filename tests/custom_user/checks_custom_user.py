"""System users, bulk actions, the Licenses tab and portal users with a custom user model
(e-mail login, UUID keys) and the project's own Wagtail user viewset.

Run by tests/project/test_custom_user_model.py in its own process, with tests.custom_user.settings;
not collected by the main suite (its name does not start with "test_").
"""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, PortalUser

User = get_user_model()

pytestmark = pytest.mark.skipif(settings.AUTH_USER_MODEL != "custom_user.Member",
                                reason="needs tests.custom_user.settings")


def holders(code):
    return set(LicenseAssignment.objects.filter(product_code=code).values_list(
        "user__email", flat=True))


@pytest.fixture
def boss(db, installed):
    user = User.objects.create_superuser("boss@example.com", "pw", first_name="Bo",
                                         last_name="Boss")
    operations.grant([user], ["analytics"])
    return user


@pytest.fixture
def members(db):
    return [User.objects.create_user(f"m{i}@example.com", "pw", first_name="Member",
                                     last_name=str(i)) for i in range(4)]


def test_the_user_model_is_custom():
    assert User._meta.label == "custom_user.Member"
    assert User._meta.pk.get_internal_type() == "UUIDField"


def test_system_users_listing(client, boss, members):
    operations.grant(members[:2], ["editor"])
    client.force_login(boss)
    response = client.get(reverse("wagtail_licensing_users:index"), {"q": "member"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "m0@example.com" in html and "CMS editor" in html
    response = client.get(reverse("wagtail_licensing_users:index"), {"product": "editor"})
    assert {u.email for u in response.context["object_list"]} == {"m0@example.com",
                                                                  "m1@example.com"}
    group = Group.objects.create(name="Crew")
    group.user_set.add(members[3])
    response = client.get(reverse("wagtail_licensing_users:index"), {"group": group.pk})
    assert [u.email for u in response.context["object_list"]] == ["m3@example.com"]
    export = client.get(reverse("wagtail_licensing_users:index"), {"export": "csv"})
    assert b"m0@example.com" in b"".join(export.streaming_content)


def test_bulk_grant_and_select_all(client, boss, members):
    client.force_login(boss)
    url = (reverse("wagtail_licensing_users:bulk_action", args=["grant_licenses"]) + "?"
           + urlencode([("id", members[0].pk), ("id", members[1].pk),
                        ("next", reverse("wagtail_licensing_users:index"))]))
    assert client.get(url).status_code == 200
    client.post(url, {"products": ["editor"]})
    assert holders("editor") == {"m0@example.com", "m1@example.com"}
    listing = reverse("wagtailusers_users:index") + "?q=member"
    url = (reverse("wagtail_licensing_users:bulk_action", args=["recall_licenses"]) + "?"
           + urlencode([("q", "member"), ("id", "all"), ("next", listing)]))
    assert client.get(url).context["count"] == 4
    client.post(url, {"products": ["editor"]})
    assert holders("editor") == set()


def test_the_projects_user_viewset_is_in_use_and_gets_the_licenses_tab(client, boss, members):
    member = members[0]
    operations.grant([member], ["editor"])
    client.force_login(boss)
    url = reverse("wagtailusers_users:edit", args=[member.pk])
    html = client.get(url).content.decode()
    assert 'name="country"' in html  # the project's form and template
    assert 'id="tab-licenses"' in html
    response = client.post(url, {
        "email": member.email, "first_name": "Member", "last_name": "0", "country": "NL",
        "is_active": "on",
        "wagtail_licensing-present": "1", "wagtail_licensing-held": "editor",
        "wagtail_licensing-products": ["analytics"],
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    member.refresh_from_db()
    assert member.country == "NL"
    assert holders("analytics") == {"boss@example.com", "m0@example.com"}
    assert holders("editor") == set()


def test_user_page_and_portal_users(client, boss, members):
    client.force_login(boss)
    response = client.get(reverse("wagtail_licensing_users:user", args=[members[1].pk]))
    assert response.status_code == 200
    # E-mail is the username: the form asks for it once.
    response = client.get(reverse("wagtail_licensing_users:add_portal_user"))
    assert 'name="username"' not in response.content.decode()
    response = client.post(reverse("wagtail_licensing_users:add_portal_user"),
                           {"email": "pat@example.com", "first_name": "Pat",
                            "products": ["portal"]})
    assert response.status_code == 302
    pat = User.objects.get(email="pat@example.com")
    assert PortalUser.objects.filter(user=pat).exists()
    assert holders("portal") == {"pat@example.com"}
    response = client.post(reverse("wagtail_licensing_users:convert_to_portal_user",
                                   args=[members[2].pk]))
    assert PortalUser.objects.filter(user=members[2]).exists()


def test_convert_refuses_admin_access_through_groups(boss, members):
    from wagtail_licensing.exceptions import PortalUserError

    group = Group.objects.create(name="Desk editors")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    members[3].groups.add(group)
    with pytest.raises(PortalUserError):
        operations.convert_to_portal_user(members[3])


def test_deactivating_frees_seats(boss, members):
    operations.grant(members, ["editor"])
    members[0].is_active = False
    members[0].save()
    assignment = LicenseAssignment.objects.get(user=members[0], product_code="editor")
    assert assignment.has_seat is False
