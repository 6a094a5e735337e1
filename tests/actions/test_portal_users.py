"""Portal user accounts: create one with its portal products, or convert a non-admin user."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.support.users import holders, messages_of, text
from wagtail_licensing import operations
from wagtail_licensing.exceptions import GrantError, PortalUserError
from wagtail_licensing.log_formatters import PortalUserFormatter
from wagtail_licensing.models import (
    AssignmentSource,
    LicenseAssignment,
    LicensingState,
    PortalUser,
)

User = get_user_model()
ADD = "wagtail_licensing_users:add_portal_user"


def convert_url(user):
    return reverse("wagtail_licensing_users:convert_to_portal_user", args=[user.pk])


def last_entry():
    return ModelLogEntry.objects.filter(action="wagtail_licensing.portal_user").latest(
        "timestamp")


# The operations -------------------------------------------------------------------------------


def test_create_portal_user(installed, manager):
    version = LicensingState.get().version
    result = operations.create_portal_user(
        email=" Pat@Example.COM ", first_name="Pat", last_name="Portal",
        product_codes=["portal"], user=manager)
    user = result.user
    assert user.username == "Pat@example.com"  # the domain is normalised, as Django does
    assert user.email == "Pat@example.com"
    assert (user.first_name, user.last_name) == ("Pat", "Portal")
    assert not user.has_usable_password()
    assert not user.groups.exists() and not user.is_superuser and not user.is_staff
    portal = PortalUser.objects.get(user=user)
    assert portal.created_by == manager
    assignment = LicenseAssignment.objects.get(user=user)
    assert (assignment.product_code, assignment.source) == ("portal", AssignmentSource.PORTAL)
    assert result.granted.granted == {"portal": ["Pat@example.com"]}
    assert LicensingState.get().version > version
    entry = last_entry()
    assert entry.user_id == manager.pk
    assert entry.data == {"event": "created", "user": "Pat@example.com",
                          "user_id": str(user.pk), "products": ["portal"]}
    assert PortalUserFormatter().format_message(entry) == \
        "Created portal user Pat@example.com; granted portal"


def test_create_portal_user_with_a_username_and_no_products(installed):
    result = operations.create_portal_user(email="a@example.com", username="ada")
    assert result.user.username == "ada"
    assert result.granted is None
    assert PortalUser.objects.filter(user=result.user).exists()


def test_create_refuses_without_seats_and_creates_nothing(installed, make_users):
    operations.grant(make_users(3, portal=True, prefix="p"), ["portal"])  # 3 of 3 used
    users = User.objects.count()
    with pytest.raises(PortalUserError) as error:
        operations.create_portal_user(email="x@example.com", product_codes=["portal"])
    assert "The portal user was not created" in error.value.message
    assert "1 seat is needed but only 0 of 3 are available" in error.value.message
    assert User.objects.count() == users
    assert not ModelLogEntry.objects.filter(action="wagtail_licensing.portal_user").exists()


def test_create_refuses_non_portal_products(installed):
    with pytest.raises(PortalUserError) as error:
        operations.create_portal_user(email="x@example.com", product_codes=["portal", "editor"])
    assert "CMS editor (editor) is not a portal product" in error.value.message
    assert not User.objects.filter(email="x@example.com").exists()


@pytest.mark.parametrize("email,username,message", [
    ("taken@example.com", None, "A user with the e-mail address taken@example.com already "
                                "exists"),
    ("TAKEN@example.com", None, "already exists"),
    ("new@example.com", "taken", "The username taken is taken"),
    ("", None, "Enter the portal user's e-mail address."),
])
def test_create_refuses_duplicates(installed, email, username, message):
    User.objects.create_user("taken", "taken@example.com")
    with pytest.raises(PortalUserError) as error:
        operations.create_portal_user(email=email, username=username)
    assert message in error.value.message


def test_create_validates_the_account(installed):
    with pytest.raises(PortalUserError) as error:
        operations.create_portal_user(email="x@example.com", username="bad name!")
    assert "username" in error.value.message


def test_create_in_demo_mode_grants_nothing(db):
    with pytest.raises(GrantError):
        operations.create_portal_user(email="x@example.com", product_codes=["portal"])
    assert not User.objects.filter(email="x@example.com").exists()
    # Without products, an account can be created in demo mode.
    assert operations.create_portal_user(email="y@example.com").user.pk


def test_after_portal_user_created_hook(installed, manager):
    from wagtail import hooks

    calls = []
    with hooks.register_temporarily("after_portal_user_created",
                                    lambda **kwargs: calls.append(kwargs)):
        result = operations.create_portal_user(email="h@example.com", user=manager)
    assert calls == [{"user": manager, "portal_user": result.user, "result": result}]


def test_convert_recalls_what_portal_users_cannot_hold(installed, manager):
    user = User.objects.create_user("outsider", "o@example.com")
    operations.grant([user], ["editor", "analytics"])
    result = operations.convert_to_portal_user(user, user=manager)
    assert PortalUser.objects.get(user=user).created_by == manager
    assert LicenseAssignment.objects.filter(user=user).count() == 0
    assert result.recalled.recalled == {"analytics": ["outsider"], "editor": ["outsider"]}
    entry = last_entry()
    assert entry.data["event"] == "converted" and entry.data["recalled"] == ["analytics",
                                                                              "editor"]
    assert PortalUserFormatter().format_message(entry) == \
        "Converted outsider into a portal user; recalled analytics, editor"
    # A portal product can be granted now.
    operations.grant([user], ["portal"])
    assert "outsider" in holders("portal")


@pytest.mark.parametrize("kind", ["superuser", "staff", "group", "permission", "inactive-group"])
def test_convert_refuses_admin_users(installed, editors_group, kind):
    user = User.objects.create_user("someone", "s@example.com")
    if kind == "superuser":
        user.is_superuser = True
    elif kind == "staff":
        user.is_staff = True
    elif kind == "group":
        user.groups.add(editors_group)
    elif kind == "permission":
        user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    else:
        user.groups.add(editors_group)
        user.is_active = False
    user.save()
    with pytest.raises(PortalUserError) as error:
        operations.convert_to_portal_user(user)
    assert "cannot become one" in error.value.message
    assert not PortalUser.objects.filter(user=user).exists()


def test_convert_refuses_portal_users(installed, make_users):
    user = make_users(1, portal=True)[0]
    with pytest.raises(PortalUserError) as error:
        operations.convert_to_portal_user(user)
    assert "is already a portal user" in error.value.message


def test_a_group_without_admin_access_is_fine(installed):
    user = User.objects.create_user("member", "m@example.com")
    user.groups.add(Group.objects.create(name="Newsletter"))
    operations.convert_to_portal_user(user)
    assert PortalUser.objects.filter(user=user).exists()


# The "Add portal user" screen ------------------------------------------------------------


@pytest.fixture
def site(installed, manager):
    operations.grant([manager], ["analytics"])
    return installed


def test_add_portal_user_page(client, site, manager):
    client.force_login(manager)
    response = client.get(reverse(ADD))
    assert response.status_code == 200
    page = text(response.content.decode())
    assert "Customer portal (portal)" in page
    assert "3 of 3 available" in page
    assert "CMS editor" not in page.split("Portal products")[1]  # only portal products



def test_add_portal_user_from_the_license_manager(client, site, manager):
    """The License manager's Actions menu offers it too, as System users' header does."""
    client.force_login(manager)
    html = client.get(reverse("wagtail_licensing:license_manager")).content.decode()
    actions = html[html.index("data-license-manager-actions"):]
    assert f'href="{reverse(ADD)}"' in actions
    assert "Add portal user" in text(actions)

def test_add_portal_user(client, site, manager):
    client.force_login(manager)
    response = client.post(reverse(ADD), {"email": "pat@example.com", "first_name": "Pat",
                                          "last_name": "Portal", "products": ["portal"]})
    user = User.objects.get(email="pat@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtail_licensing_users:user", args=[user.pk])
    assert PortalUser.objects.filter(user=user).exists()
    assert "pat@example.com" in holders("portal")
    (level, message), = messages_of(response)
    assert level == "success"
    assert message.startswith("Portal user pat@example.com created.")
    assert "Granted Customer portal (portal) to 1 user: pat@example.com." in message


def test_add_portal_user_refusal_keeps_the_form(client, site, manager, make_users):
    operations.grant(make_users(3, portal=True, prefix="p"), ["portal"])
    client.force_login(manager)
    # The box is disabled (no seat left), but a stale or crafted form is refused anyway.
    response = client.post(reverse(ADD), {"email": "pat@example.com", "first_name": "Pat",
                                          "products": ["portal"]})
    assert response.status_code == 200
    page = text(response.content.decode())
    assert "The portal user was not created" in page
    assert 'value="pat@example.com"' in response.content.decode()
    assert not User.objects.filter(email="pat@example.com").exists()


def test_add_portal_user_validates(client, site, manager):
    client.force_login(manager)
    response = client.post(reverse(ADD), {"email": "not-an-email"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()


@pytest.mark.parametrize("who", [None, "editor"])
def test_outsiders_cannot_add_portal_users(client, site, request, who):
    if who:
        user = request.getfixturevalue(who)
        operations.grant([user], ["analytics"])
        client.force_login(user)
    response = client.post(reverse(ADD), {"email": "pat@example.com"})
    assert response.status_code == 302
    assert not User.objects.filter(email="pat@example.com").exists()


def test_add_portal_user_needs_csrf(site, manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(reverse(ADD), {"email": "pat@example.com"})
    assert response.status_code == 403
    assert not User.objects.filter(email="pat@example.com").exists()


def test_escapes_names(client, site, manager):
    client.force_login(manager)
    response = client.post(reverse(ADD), {"email": "x@example.com",
                                          "first_name": "<script>alert(1)</script>"},
                           follow=True)
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# The "Convert to portal user" screen --------------------------------------------------------


def test_convert_page_and_conversion(client, site, manager):
    user = User.objects.create_user("outsider", "o@example.com")
    operations.grant([user], ["editor"])
    client.force_login(manager)
    page = text(client.get(convert_url(user)).content.decode())
    assert "These licenses will be recalled, because portal users cannot hold them: CMS " \
           "editor" in page
    response = client.post(convert_url(user))
    assert response["Location"] == reverse("wagtail_licensing_users:user", args=[user.pk])
    assert PortalUser.objects.filter(user=user).exists()
    (level, message), = messages_of(response)
    assert "outsider is now a portal user." in message
    assert "Recalled CMS editor (editor) from 1 user: outsider." in message


def test_convert_page_refuses_admin_users(client, site, manager, editor):
    client.force_login(manager)
    page = text(client.get(convert_url(editor)).content.decode())
    assert "can access the Wagtail admin through their groups or permissions" in page
    assert "Yes, convert" not in page
    response = client.post(convert_url(editor))
    assert response.status_code == 302
    assert messages_of(response)[0][0] == "error"
    assert not PortalUser.objects.filter(user=editor).exists()


def test_outsiders_cannot_convert(client, site, editor):
    operations.grant([editor], ["analytics"])
    user = User.objects.create_user("outsider")
    client.force_login(editor)
    client.post(convert_url(user))
    assert not PortalUser.objects.filter(user=user).exists()


# Enforcement: a portal user never reaches the admin (issue 5's middleware, end to end) -------


def _admin_pages(client):
    return [client.get(url) for url in ["/admin/", reverse("wagtailusers_users:index"),
                                        reverse("wagtail_licensing_users:index")]]


def test_a_portal_user_created_here_never_reaches_the_admin(client, site, manager,
                                                              editors_group, managers_group):
    client.force_login(manager)
    client.post(reverse(ADD), {"email": "pat@example.com", "products": ["portal"]})
    pat = User.objects.get(email="pat@example.com")
    # Whatever groups it is given later, even the license managers' and superuser status.
    pat.groups.add(editors_group, managers_group)
    pat.is_superuser = True
    pat.save()
    portal_client = Client()
    portal_client.force_login(pat)
    for response in _admin_pages(portal_client):
        assert response.status_code == 403
        assert "wagtail_licensing/enforcement/no_license.html" in [
            template.name for template in response.templates]
        assert b"System users" not in response.content


def test_a_converted_user_loses_the_admin(client, site, manager, editors_group):
    user = User.objects.create_user("outsider", "o@example.com", "pw")
    operations.grant([user], ["editor"])
    user.groups.add(editors_group)
    outsider_client = Client()
    outsider_client.force_login(user)
    assert outsider_client.get("/admin/").status_code == 200
    # Converting needs the admin access gone first; then the account is a portal user...
    user.groups.remove(editors_group)
    operations.convert_to_portal_user(user, user=manager)
    # ...and giving the admin back through a group does not open it.
    user.groups.add(editors_group)
    response = outsider_client.get("/admin/")
    assert response.status_code == 403
    assert "wagtail_licensing/enforcement/no_license.html" in [
        template.name for template in response.templates]
