"""Licensing > Groups: preview then bind, unbind, reprocess, errors; the panel on Wagtail's
group edit page; license managers only."""

import pytest
from django.urls import reverse

from tests.support.queries import count_queries
from tests.support.users import messages_of
from wagtail_licensing import operations
from wagtail_licensing.models import GroupLicense, GroupLicenseError, LicenseAssignment

pytestmark = pytest.mark.django_db

INDEX = "wagtail_licensing_groups:index"


def test_editors_are_refused(client, editor, writers, installed):
    client.force_login(editor)
    assert client.get(reverse(INDEX)).status_code in (302, 403)
    client.post(
        reverse(INDEX), {"action": "bind", "group": writers.pk, "product": "editor", "priority": 1}
    )
    assert not GroupLicense.objects.exists()


def test_preview_then_bind_shows_the_errors(client, manager, writers, two_seats):
    client.force_login(manager)
    response = client.get(reverse(INDEX))
    assert response.status_code == 200
    assert "No product is bound to a group yet." in response.content.decode()
    data = {"group": writers.pk, "product": "editor", "priority": 10}
    response = client.post(reverse(INDEX), {**data, "action": "preview"})
    html = response.content.decode()
    assert "4 need a seat" in html and "2 seats are available" in html
    assert "2 members would be left without a seat" in html and "user2, user3" in html
    assert not GroupLicense.objects.exists()
    response = client.post(reverse(INDEX), {**data, "action": "bind"}, follow=True)
    text = " ".join(t for _level, t in messages_of(response))
    assert "Bound editor to Writers." in text and "2 members are left without a seat" in text
    html = response.content.decode()
    assert 'data-group-error="user2"' in html and 'data-group-error="user3"' in html
    assert GroupLicense.objects.get().priority == 10


def test_unbind_and_reprocess(client, manager, writers, installed):
    operations.bind_group_licenses(writers, "analytics")
    client.force_login(manager)
    LicenseAssignment.objects.filter(user__username="user0").delete()
    response = client.post(
        reverse(INDEX), {"action": "reprocess", "group": writers.pk}, follow=True
    )
    assert "1 member of bound groups was given a seat" in " ".join(
        t for _level, t in messages_of(response)
    )
    response = client.post(
        reverse(INDEX),
        {"action": "unbind", "group": writers.pk, "product": "analytics"},
        follow=True,
    )
    assert "Unbound analytics from Writers." in " ".join(t for _level, t in messages_of(response))
    assert not LicenseAssignment.objects.exists()


def test_the_screen_costs_the_same_queries_with_many_errors(
    client, manager, writers, two_seats, make_users
):
    operations.bind_group_licenses(writers, "editor")
    client.force_login(manager)
    client.get(reverse(INDEX))
    with count_queries() as few:
        client.get(reverse(INDEX))
    make_users(50, groups=[writers])
    operations.reprocess_group_licenses()
    assert GroupLicenseError.objects.count() == 52
    client.get(reverse(INDEX))  # the access cache warms again after the change
    with count_queries() as many:
        client.get(reverse(INDEX))
    assert len(many) == len(few), "\n".join(q["sql"][:150] for q in many.captured)


def test_group_edit_page_has_a_licenses_panel(client, superuser, writers, installed):
    operations.bind_group_licenses(writers, "analytics")
    operations.grant([superuser], "editor")
    client.force_login(superuser)
    response = client.get(reverse("wagtailusers_groups:edit", args=[writers.pk]))
    assert response.status_code == 200, response
    html = response.content.decode()
    assert "licensing-group-licenses" in html
    assert "analytics: priority 100, 4 seated, 0 without a seat" in html
    assert f"{reverse(INDEX)}?group={writers.pk}" in html
    # saving the group form still works with the panel
    response = client.post(
        reverse("wagtailusers_groups:edit", args=[writers.pk]),
        {"name": "Writers", "permissions": []},
    )
    assert response.status_code in (200, 302)


def test_group_create_page_has_the_panel_too(client, superuser, installed):
    operations.grant([superuser], "editor")
    client.force_login(superuser)
    response = client.get(reverse("wagtailusers_groups:add"))
    assert response.status_code == 200
    assert "Once the group is saved, bind products to it" in response.content.decode()
