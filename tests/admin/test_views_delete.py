"""Delete the installed licenses from the admin: explained, confirmed, demo mode after."""

import pytest
from django.test import Client

from tests.support.licenses import product
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, LicenseFile, LicensingState

URL = "/admin/licensing/delete/"


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def messages_of(response):
    return [str(m).strip() for m in response.wsgi_request._messages]


def test_confirmation_explains_demo_mode_and_what_is_kept(manager_client, install, make_users,
                                                           manager):
    installed = install(products=[product("editor")])
    operations.grant(make_users(3), ["editor"], user=manager)
    content = manager_client.get(URL).content.decode()
    assert f"Delete the installed license <strong>{installed.license_id}</strong>?" in content
    assert "The site will run in demo mode." in content
    assert "3 license assignments of 3 users" in content
    assert "the history of 1 installed license file;" in content
    assert "Yes, delete licenses" in content
    assert LicensingState.get().installed_file_id == installed.pk  # GET changes nothing


def test_demo_access_after_delete_is_managers_only_by_default(manager_client, installed):
    # DEMO_ACCESS is "all" in the test settings: a site that never had a license lets every
    # admin user in, but deleting the license must not.
    assert "Only license managers and superusers" in manager_client.get(URL).content.decode()


def test_demo_access_after_delete_for_all_is_explained(manager_client, installed, settings):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING,
                                  "DEMO_ACCESS_AFTER_DELETE": "all"}
    assert "every user with admin access" in manager_client.get(URL).content.decode()


def test_delete(manager_client, install, make_users, manager):
    installed = install(products=[product("editor")])
    operations.grant(make_users(2), ["editor"], user=manager)
    response = manager_client.post(URL, follow=True)
    assert response.redirect_chain[-1][0] == "/admin/licensing/"
    assert LicensingState.get().demo_mode
    assert "Demo mode: no licenses installed." in response.content.decode()
    assert f"The license {installed.license_id} was deleted" in response.content.decode()
    assert LicenseAssignment.objects.count() == 2 and LicenseFile.objects.count() == 1


def test_nothing_to_delete_in_demo_mode(manager_client, state):
    assert "there is nothing to delete" in manager_client.get(URL).content.decode()
    response = manager_client.post(URL)
    assert "No license is installed, so there is nothing to delete." in messages_of(response)


def test_csrf_is_enforced(manager, installed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert client.post(URL).status_code == 403
    assert not LicensingState.get().demo_mode
