"""The Licenses tab on the user edit page of Settings > Users (and of a project's own viewset)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.support.licenses import product
from tests.support.users import (
    checkbox,
    give_license,
    holders,
    messages_of,
    text,
    user_admins_group,
)
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, LicensingState
from wagtail_licensing.views.licenses_tab import save_licenses_tab

User = get_user_model()


@pytest.fixture
def site(installed, superuser):
    give_license(superuser)
    return installed


@pytest.fixture
def bob(db):
    return User.objects.create_user("bob", "bob@example.com", "pw", first_name="Bob",
                                    last_name="Baker")


def edit_url(user):
    return reverse("wagtailusers_users:edit", args=[user.pk])


def edit_data(user, products=None, held=None, **changes):
    """What the user edit form posts, with the Licenses tab's fields."""
    data = {
        "username": user.username, "email": user.email, "first_name": user.first_name,
        "last_name": user.last_name, "is_active": "on" if user.is_active else "",
        "password1": "", "password2": "",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
    }
    if products is not None:
        data["wagtail_licensing-present"] = "1"
        data["wagtail_licensing-held"] = ",".join(held if held is not None else
                                                  LicenseAssignment.objects.filter(user=user)
                                                  .values_list("product_code", flat=True))
        data["wagtail_licensing-products"] = products
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


# Who sees the tab -----------------------------------------------------------------------------


def test_superuser_sees_the_tab(client, site, superuser, bob):
    operations.grant([bob], ["editor"])
    client.force_login(superuser)
    response = client.get(edit_url(bob))
    html = response.content.decode()
    assert 'id="tab-label-licenses"' in html
    assert 'id="tab-licenses"' in html
    # Wagtail's own tabs and fields are still there.
    assert 'id="tab-account"' in html and 'id="tab-roles"' in html
    assert 'name="email"' in html and 'name="groups"' in html
    page = text(html)
    assert "CMS editor (editor)" in page
    assert "4 of 5 available" in page
    assert "Select all" in page and "Clear all" in page
    assert "checked" in checkbox(html, "editor")
    assert "checked" not in checkbox(html, "analytics")


def test_user_admin_who_is_not_a_manager_does_not_see_it(client, site, bob):
    admin = User.objects.create_user("useradmin", password="pw")
    admin.groups.add(user_admins_group())
    give_license(admin)
    client.force_login(admin)
    html = client.get(edit_url(bob)).content.decode()
    assert 'id="tab-licenses"' not in html
    assert 'id="tab-account"' in html  # Wagtail's page, unchanged
    # Posting the tab's fields anyway changes nothing.
    response = client.post(edit_url(bob), edit_data(bob, products=["analytics"]))
    assert response.status_code == 302
    assert "bob" not in holders("analytics")


def test_manager_who_may_edit_users_sees_it(client, site, bob):
    both = User.objects.create_user("both", password="pw")
    both.groups.add(user_admins_group(manage=True))
    give_license(both)
    client.force_login(both)
    assert 'id="tab-licenses"' in client.get(edit_url(bob)).content.decode()


# Saving -----------------------------------------------------------------------------------------


def test_saving_grants_and_recalls(client, site, superuser, bob):
    operations.grant([bob], ["editor"])
    client.force_login(superuser)
    response = client.post(edit_url(bob), edit_data(bob, products=["analytics"]))
    assert response.status_code == 302
    assert holders("analytics") == {"admin", "bob"}
    assert "bob" not in holders("editor")
    messages = messages_of(response)
    assert messages[0] == ("success", "User 'bob' updated. Edit")
    level, message = messages[1]
    assert level == "success"
    assert "Recalled CMS editor (editor) from 1 user: bob." in message
    assert "Granted Analytics (analytics) to 1 user: bob." in message
    entry = ModelLogEntry.objects.filter(action="wagtail_licensing.grant").latest("timestamp")
    assert entry.user_id == superuser.pk and entry.data["source"] == "manual"


def test_saving_without_changes_changes_nothing(client, site, superuser, bob):
    operations.grant([bob], ["editor"])
    version = LicensingState.get().version
    client.force_login(superuser)
    response = client.post(edit_url(bob), edit_data(bob, products=["editor"],
                                                    first_name="Robert"))
    assert [level for level, _message in messages_of(response)] == ["success"]
    assert LicensingState.get().version == version
    bob.refresh_from_db()
    assert bob.first_name == "Robert"


def test_clear_all_recalls_everything(client, site, superuser, bob):
    operations.grant([bob], ["editor", "analytics"])
    client.force_login(superuser)
    client.post(edit_url(bob), edit_data(bob, products=[]))
    assert LicenseAssignment.objects.filter(user=bob).count() == 0


def test_no_seat_left_is_disabled_with_the_reason(client, site, superuser, bob, make_users):
    operations.grant(make_users(5), ["editor"])
    client.force_login(superuser)
    html = client.get(edit_url(bob)).content.decode()
    assert "disabled" in checkbox(html, "editor")
    option = html[html.index(checkbox(html, "editor")): html.index(checkbox(html, "editor"))
                  + 900]
    assert "0 of 5 available" in text(option)
    assert "No seat left: recall it from another user or ask your vendor for more seats." \
        in text(option)
    # Posting it anyway is refused by the seat rules, with their message.
    response = client.post(edit_url(bob), edit_data(bob, products=["editor"]))
    level, message = messages_of(response)[1]
    assert level == "error"
    assert "1 seat is needed but only 0 of 5 are available" in message
    assert "bob" not in holders("editor")


def test_inactive_user_boxes_are_disabled_but_held_ones_can_be_recalled(client, site,
                                                                         superuser, bob):
    operations.grant([bob], ["editor"])
    bob.is_active = False
    bob.save()
    client.force_login(superuser)
    response = client.get(edit_url(bob))
    page = text(response.content.decode())
    assert "The user is inactive. Activate the account first." in page
    assert "Inactive users use no seat." in page
    client.post(edit_url(bob), edit_data(bob, products=[]))
    assert "bob" not in holders("editor")


def test_stale_tab_does_not_recall_a_license_granted_meanwhile(client, site, superuser, bob):
    client.force_login(superuser)
    operations.grant([bob], ["analytics"])  # after the manager opened the page
    client.post(edit_url(bob), edit_data(bob, products=["editor"], held=[]))
    assert LicenseAssignment.objects.filter(user=bob).count() == 2


def test_invalid_user_form_keeps_the_ticks(client, site, superuser, bob):
    client.force_login(superuser)
    response = client.post(edit_url(bob), edit_data(bob, products=["analytics"],
                                                    email="not-an-email"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "checked" in checkbox(html, "analytics")
    assert "bob" not in holders("analytics")


def test_invalid_tab_reports_and_changes_nothing(client, site, superuser, bob):
    client.force_login(superuser)
    response = client.post(edit_url(bob), edit_data(bob, products=["no-such-product"]))
    level, message = messages_of(response)[1]
    assert level == "error"
    assert "The licenses were not changed" in message
    assert LicenseAssignment.objects.filter(user=bob).count() == 0


def test_the_tab_needs_csrf(site, superuser, bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    response = client.post(edit_url(bob), edit_data(bob, products=["analytics"]))
    assert response.status_code == 403
    assert "bob" not in holders("analytics")


def test_portal_products_for_portal_users_only(client, site, superuser, bob, make_users):
    client.force_login(superuser)
    page = text(client.get(edit_url(bob)).content.decode())
    assert "Only portal users can hold this product." in page
    portal_user = make_users(1, prefix="ext", portal=True)[0]
    page = text(client.get(edit_url(portal_user)).content.decode())
    assert "Portal users cannot hold this product." in page


def test_escapes_product_names(client, installed, superuser, bob, install):
    give_license(superuser)
    install(products=[product("analytics", "named", None, name="Analytics"),
                      product("x", "named", 2, name="<script>alert(1)</script>")])
    client.force_login(superuser)
    html = client.get(edit_url(bob)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_save_runs_once_per_request(rf, site, superuser, bob):
    """A project view that calls save_licenses_tab itself and also runs the hook grants once."""
    request = rf.post("/", edit_data(bob, products=["analytics"]))
    request.user = superuser
    request._messages = type("M", (), {"add": lambda *a, **k: None})()
    save_licenses_tab(request, bob)
    version = LicensingState.get().version
    save_licenses_tab(request, bob)
    assert LicensingState.get().version == version
    assert "bob" in holders("analytics")


# Deactivating a user through Wagtail's form ------------------------------------------------------


def test_deactivating_through_the_edit_form_frees_the_seat(client, site, superuser, bob,
                                                            make_users):
    waiting = make_users(5, prefix="wait")
    operations.grant([bob], ["editor"])
    operations.grant(waiting[:4], ["editor"])
    client.force_login(superuser)
    response = client.post(edit_url(bob), edit_data(bob, is_active=""))
    assert response.status_code == 302
    bob.refresh_from_db()
    assert not bob.is_active
    assert LicenseAssignment.objects.get(user=bob, product_code="editor").has_seat is False
    # The freed seat can be granted at once.
    operations.grant(waiting[4:], ["editor"])
    assert "wait4" in holders("editor")
    entry = ModelLogEntry.objects.filter(action="wagtail_licensing.user_status").latest(
        "timestamp")
    assert entry.data["event"] == "deactivated" and entry.data["user"] == "bob"
    assert entry.data["products"] == ["editor"]


def test_deleting_through_wagtail_removes_assignments(client, site, superuser, bob):
    operations.grant([bob], ["editor"])
    client.force_login(superuser)
    response = client.post(reverse("wagtailusers_users:delete", args=[bob.pk]))
    assert response.status_code == 302
    assert not User.objects.filter(username="bob").exists()
    assert holders("editor") == set()
    entry = ModelLogEntry.objects.filter(action="wagtail_licensing.user_status").latest(
        "timestamp")
    assert entry.data["event"] == "deleted" and entry.data["products"] == ["editor"]



@pytest.mark.parametrize("active", [False, True])
def test_wagtails_set_active_state_bulk_action_moves_seats_at_once(client, install, superuser,
                                                                    make_users, active):
    """Settings > Users' own bulk action updates is_active without saving each user (no
    signals): seats, the audit log and the license check must follow all the same."""
    install(products=[product("editor", "named", 6, name="CMS editor"),
                      product("analytics", "named", None, name="Analytics")])
    give_license(superuser)
    users = make_users(6, prefix="seat")
    operations.grant(users, ["editor"])
    install(products=[product("editor", "named", 5, name="CMS editor"),
                      product("analytics", "named", None, name="Analytics")])
    waiting = users[5]
    assert LicenseAssignment.objects.get(user=waiting).has_seat is False
    if active:  # reactivating takes the seat back from the most recently granted holder
        User.objects.filter(pk=users[0].pk).update(is_active=False)
        operations.user_status_changed(User.objects.get(pk=users[0].pk))
        assert LicenseAssignment.objects.get(user=waiting).has_seat is True
    version = LicensingState.get().version
    client.force_login(superuser)
    client.get(reverse("wagtailadmin_home"))  # first request: sent to the License manager
    url = reverse("wagtail_bulk_action", args=["auth", "user", "set_active_state"])
    response = client.post(f"{url}?id={users[0].pk}&next=/admin/users/",
                           {"mark_as_active": str(active)})
    assert response.status_code == 302
    assert User.objects.get(pk=users[0].pk).is_active is active
    assert LicenseAssignment.objects.get(user=waiting).has_seat is not active
    assert LicensingState.get().version > version  # the license check sees it at once
    entry = ModelLogEntry.objects.filter(action="wagtail_licensing.user_status").latest(
        "timestamp")
    assert entry.data["event"] == ("activated" if active else "deactivated")
    assert entry.data["user"] == "seat0" and entry.data["products"] == ["editor"]
    assert entry.user_id == superuser.pk



def test_wagtails_bulk_delete_frees_seats(client, install, superuser, make_users):
    install(products=[product("editor", "named", 3, name="CMS editor"),
                      product("analytics", "named", None, name="Analytics")])
    give_license(superuser)
    users = make_users(3, prefix="gone")
    operations.grant(users, ["editor"])
    client.force_login(superuser)
    url = reverse("wagtail_bulk_action", args=["auth", "user", "delete"])
    ids = "&".join(f"id={user.pk}" for user in users[:2])
    assert client.post(f"{url}?{ids}&next=/admin/users/").status_code == 302
    assert holders("editor") == {"gone2"}
    deleted = ModelLogEntry.objects.filter(action="wagtail_licensing.user_status",
                                           data__event="deleted")
    assert sorted(entry.data["user"] for entry in deleted) == ["gone0", "gone1"]


# A project's own user viewset and templates ---------------------------------------------------


@override_settings(ROOT_URLCONF="tests.custom_viewset_urls")
def test_custom_user_viewset_with_its_own_template(client, site, superuser, bob):
    operations.grant([bob], ["editor"])
    client.force_login(superuser)
    url = reverse("project_users:edit", args=[bob.pk])
    html = client.get(url).content.decode()
    assert "Project profile" in html and 'name="nickname"' in html
    assert 'id="tab-label-licenses"' in html and 'id="tab-licenses"' in html
    response = client.post(url, {**edit_data(bob, products=["analytics"]),
                                 "nickname": "Bobby"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert holders("analytics") == {"admin", "bob"}
    assert "bob" not in holders("editor")


@override_settings(ROOT_URLCONF="tests.custom_viewset_urls")
def test_custom_user_viewset_hides_the_tab_from_non_managers(client, site, bob):
    admin = User.objects.create_user("useradmin", password="pw")
    admin.groups.add(user_admins_group())
    give_license(admin)
    client.force_login(admin)
    html = client.get(reverse("project_users:edit", args=[bob.pk])).content.decode()
    assert "Project profile" in html
    assert "tab-licenses" not in html


# The system check ---------------------------------------------------------------------------


def test_app_order_check(monkeypatch):
    from django.apps import apps

    from wagtail_licensing.checks import check_app_order

    assert check_app_order() == []
    configs = list(apps.get_app_configs())
    ours = next(config for config in configs if config.label == "wagtail_licensing")
    configs.remove(ours)
    monkeypatch.setattr(apps, "get_app_configs", lambda: [*configs, ours])
    (warning,) = check_app_order()
    assert warning.id == "wagtail_licensing.W020"


def test_a_tab_save_racing_delete_licenses_is_refused_not_a_500(client, site, superuser, bob,
                                                                monkeypatch):
    """The license is deleted after the tab's form was checked: nothing changes (the recall
    in the same save is rolled back too), and the manager is told why."""
    operations.grant([bob], ["editor"])
    real_grant = operations.grant

    def grant_after_a_delete(*args, **kwargs):
        operations.delete_licenses()
        return real_grant(*args, **kwargs)

    monkeypatch.setattr(operations, "grant", grant_after_a_delete)
    client.force_login(superuser)
    response = client.post(edit_url(bob), edit_data(bob, products=["analytics"]))
    assert response.status_code == 302
    level, message = messages_of(response)[-1]
    assert level == "error"
    assert message.startswith("The licenses were not changed: No license is installed")
    assert "bob" in holders("editor") and "bob" not in holders("analytics")
    assert not LicensingState.get().demo_mode  # the delete rolled back with the grant
