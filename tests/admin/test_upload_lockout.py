"""The upload preview says who would lose the admin, and grants them seats with the install."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.support.licenses import product
from wagtail_licensing import operations
from wagtail_licensing.exceptions import LicenseRefused
from wagtail_licensing.models import LicenseAssignment, LicenseFile, LicensingState, PendingUpload

UPLOAD = "/admin/licensing/upload/"
ONE_PRODUCT = [
    product("editor", "named", 3, name="CMS editor"),
    product("portal", "portal", 3, name="Customer portal"),
]


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def editors(make_users, editors_group):
    return make_users(4, prefix="ed", groups=[editors_group])


def preview(client, text):
    response = client.post(UPLOAD, {"license_file": SimpleUploadedFile("acme.lic", text.encode())})
    assert response.status_code == 302, response.content
    return PendingUpload.objects.get(), client.get(response["Location"])


def test_preview_lists_admin_users_without_a_seat(
    manager_client, manager, editors, superuser, make_users, make_license
):
    make_users(2, prefix="portaluser", portal=True)  # portal users never open the admin
    make_users(2, prefix="nobody")  # no admin access: nothing to lose
    make_users(1, prefix="gone", active=False, groups=[])  # inactive: nothing to lose
    pending, response = preview(manager_client, make_license(products=ONE_PRODUCT))
    content = response.content.decode()
    locked = response.context["preview"].locked_out
    assert response.context["preview"].locked_out_count == 6
    assert sorted(u.username for u in locked) == ["admin", "ed0", "ed1", "ed2", "ed3", "manager"]
    assert {u.username for u in locked if u.manager} == {"admin", "manager"}
    assert "6 active admin users hold none of this file" in content
    assert 'data-locked-out-user="manager" data-manager' in content
    assert 'data-locked-out-user="ed0">' in content
    assert "CMS editor (editor): 3 seats free" in content
    assert "nobody0" not in content and "portaluser0" not in content


def test_holders_of_an_opening_product_are_not_listed(
    manager_client, editors, make_license, install
):
    install(products=ONE_PRODUCT)
    operations.grant(editors[:2], "editor")
    pending, response = preview(manager_client, make_license(products=ONE_PRODUCT))
    names = {u.username for u in response.context["preview"].locked_out}
    assert names == {"ed2", "ed3", "manager"}
    # 3 seats, 2 held and kept: 1 free.
    assert [(o.code, o.available) for o in response.context["preview"].seat_offers] == [
        ("editor", 1)
    ]


def test_nobody_loses_access_no_section(manager_client, manager, make_license, install):
    install(products=ONE_PRODUCT)
    operations.grant([manager], "editor")
    pending, response = preview(manager_client, make_license(products=ONE_PRODUCT))
    assert response.context["preview"].locked_out_count == 0
    assert "data-locked-out" not in response.content.decode()


def test_confirm_grants_the_ticked_users_with_the_install(
    manager_client, manager, editors, make_license
):
    pending, _ = preview(manager_client, make_license(license_id="LIC-G", products=ONE_PRODUCT))
    response = manager_client.post(
        reverse("wagtail_licensing:upload_preview", args=[pending.token]),
        {
            "token": pending.token,
            "action": "confirm",
            "grant_product": "editor",
            "grant_users": [manager.pk, editors[0].pk],
        },
        follow=True,
    )
    assert LicensingState.get().installed_file.license_id == "LIC-G"
    held = set(LicenseAssignment.objects.values_list("user__username", "product_code"))
    assert held == {("manager", "editor"), ("ed0", "editor")}
    content = response.content.decode()
    assert "License file LIC-G installed." in content
    assert "CMS editor (editor) granted to 2 users: manager and ed0." in content


def test_over_selection_is_refused_and_nothing_installed(
    manager_client, manager, editors, make_license
):
    pending, _ = preview(manager_client, make_license(products=ONE_PRODUCT))
    response = manager_client.post(
        reverse("wagtail_licensing:upload_preview", args=[pending.token]),
        {
            "token": pending.token,
            "action": "confirm",
            "grant_product": "editor",
            "grant_users": [u.pk for u in editors],
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert (
        "Nothing was installed: 4 users were selected for CMS editor (editor), but only 3 "
        "seats are free once the file is installed."
    ) in content
    assert LicenseFile.objects.count() == 0 and not LicenseAssignment.objects.exists()
    assert PendingUpload.objects.filter(pk=pending.pk).exists()  # still waiting
    # The selection is kept, so the manager can untick one.
    assert content.count('name="grant_users"') == 5
    assert content.count(" checked>") == 4


def test_install_operation_grants_or_refuses_all_together(editors, make_license):
    with pytest.raises(LicenseRefused, match="only 3 seats are free"):
        operations.install_license_file(
            make_license(products=ONE_PRODUCT), grant={"editor": editors}
        )
    assert LicenseFile.objects.count() == 0
    result = operations.install_license_file(
        make_license(products=ONE_PRODUCT), grant={"editor": [u.pk for u in editors[:3]]}
    )
    assert result.granted == {"editor": ["ed0", "ed1", "ed2"]}
    assert LicenseAssignment.objects.filter(has_seat=True).count() == 3


def test_preview_queries_do_not_grow_with_users(
    editors_group, make_users, make_license, django_assert_max_num_queries
):
    make_users(5, prefix="a", groups=[editors_group])
    content = make_license(products=ONE_PRODUCT)
    with django_assert_max_num_queries(12) as small:
        operations.preview_upload(content)
    make_users(60, prefix="b", groups=[editors_group])
    with django_assert_max_num_queries(len(small.captured_queries)):
        preview_result = operations.preview_upload(content)
    assert preview_result.locked_out_count == 65
    assert get_user_model().objects.count() == 65


def test_long_lists_are_cut_with_the_full_count(manager_client, editors, make_license, monkeypatch):
    monkeypatch.setattr("wagtail_licensing.actions.install.LOCKED_OUT_LISTED", 2)
    pending, response = preview(manager_client, make_license(products=ONE_PRODUCT))
    content = response.content.decode()
    assert len(response.context["preview"].locked_out) == 2
    assert "5 active admin users hold none of this file" in content
    assert "Only the first 2 of 5 users are listed" in content
