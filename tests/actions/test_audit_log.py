"""Licensing actions in Wagtail's Reports > Site history, readable and visible to managers."""

import pytest

from wagtail_licensing import operations

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(installed, make_users, superuser):
    users = make_users(2)
    operations.grant(users, ["editor"], user=superuser)
    operations.recall(users[:1], ["editor"], user=superuser)
    operations.create_license_request(user=superuser)
    operations.delete_licenses(user=superuser)


def test_manager_sees_licensing_entries_in_site_history(client, manager, history):
    client.force_login(manager)
    response = client.get("/admin/reports/site-history/")
    assert response.status_code == 200
    content = response.content.decode()
    for text in ("Installed license file", "Granted licenses to 2 users: editor (2)",
                 "Recalled licenses from 1 user: editor (1)", "Generated license request",
                 "Deleted the installed licenses"):
        assert text in content, text


def test_editor_does_not_see_licensing_entries(client, editor, history, settings):
    # After the delete only managers reach the admin by default: let the editor in.
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING,
                                  "DEMO_ACCESS_AFTER_DELETE": "all"}
    client.force_login(editor)
    response = client.get("/admin/reports/site-history/")
    assert response.status_code == 200
    assert "Granted licenses" not in response.content.decode()


def test_actions_are_offered_in_the_action_filter(client, manager, history):
    client.force_login(manager)
    content = client.get("/admin/reports/site-history/").content.decode()
    for label in ("Upload license file", "Grant licenses", "Recall licenses",
                  "Delete licenses", "Generate license request"):
        assert label in content, label


def test_reports_menu_offers_site_history_to_managers(client, manager, editor, history):
    # The sidebar menu is rendered from JSON; the item's URL appears in it when it is shown.
    client.force_login(manager)
    assert "/admin/reports/site-history/" in client.get("/admin/").content.decode()
    client.force_login(editor)
    assert "/admin/reports/site-history/" not in client.get("/admin/").content.decode()
