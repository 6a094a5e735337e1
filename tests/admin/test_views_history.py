"""History: installed files newest first, downloadable as sent, and the licensing audit log."""

import pytest
from django.urls import reverse

from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseFile

URL = "/admin/licensing/history/"


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_installed_files_newest_first(manager_client, install, manager):
    first = install(user=manager)
    second = install(user=manager)
    response = manager_client.get(URL)
    assert list(response.context["object_list"]) == [second, first]
    html = response.context["table"].render_html({"request": response.wsgi_request})
    assert html.index(second.license_id) < html.index(first.license_id)
    assert "Installed" in html and "Replaced" in html
    assert "CMS editor (editor)" in html
    assert "Morgan Manager" in html
    assert reverse("wagtail_licensing:history_download", args=[first.pk]) in html


def test_download_is_the_original_file(manager_client, installed):
    response = manager_client.get(reverse("wagtail_licensing:history_download",
                                          args=[installed.pk]))
    assert response.status_code == 200
    assert response.content.decode() == installed.content
    assert response["Content-Disposition"] == (
        f'attachment; filename="{installed.license_id}.lic"')
    assert response["X-Content-Type-Options"] == "nosniff"


def test_download_of_an_unknown_file_is_404(manager_client, state):
    response = manager_client.get(reverse("wagtail_licensing:history_download", args=[999]))
    assert response.status_code == 404


def test_download_name_is_safe(manager_client, install):
    license_file = install(license_id='LIC "quoted"/evil\r\nX-Injected: 1')
    response = manager_client.get(reverse("wagtail_licensing:history_download",
                                          args=[license_file.pk]))
    assert response["Content-Disposition"] == (
        'attachment; filename="LIC__quoted__evil__X-Injected__1.lic"')
    assert "X-Injected" not in response.headers


def test_audit_log_entries(manager_client, install, manager, make_users):
    installed = install(user=manager)
    operations.grant(make_users(2), ["editor"], user=manager)
    operations.delete_licenses(user=manager)
    response = manager_client.get(URL)
    content = response.content.decode()
    assert f"Installed license file {installed.license_id}" in content
    assert "Granted licenses to 2 users: editor (2)" in content
    assert "Deleted the installed licenses" in content
    response = manager_client.get(reverse("wagtail_licensing:activity"))
    entries = list(response.context["object_list"])
    assert [e.action for e in entries] == ["wagtail_licensing.delete", "wagtail_licensing.grant",
                                           "wagtail_licensing.upload"]
    html = response.context["table"].render_html({"request": response.wsgi_request})
    assert "Delete licenses" in html and "Morgan Manager" in html


def test_only_licensing_entries(manager_client, installed, manager):
    from wagtail.log_actions import log

    log(instance=manager, action="wagtail.edit", user=manager)
    response = manager_client.get(reverse("wagtail_licensing:activity"))
    assert {e.action for e in response.context["object_list"]} == {"wagtail_licensing.upload"}


def count(client, url):
    client.get(url)
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.slow
def test_queries_do_not_grow_with_files_or_entries(manager_client, install, manager,
                                                   make_users, managers_group):
    for _ in range(2):
        install(user=manager)
    few = count(manager_client, URL), count(manager_client, reverse("wagtail_licensing:activity"))
    users = make_users(20, groups=[managers_group])  # 20 managers, each granting once
    for _ in range(18):
        install(user=manager)
    for user in users:
        operations.grant([user], ["editor"], user=user)
    assert LicenseFile.objects.count() == 20
    many = count(manager_client, URL), count(manager_client, reverse("wagtail_licensing:activity"))
    assert few == many
