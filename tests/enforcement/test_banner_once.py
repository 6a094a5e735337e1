"""Each license warning once per page, dismissible per user for a day, never in the page editor
(issue 12 item 12)."""

import json
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page
from wagtail.users.models import UserProfile

from tests.support.enforcement import ADMIN, grant, login
from tests.support.licenses import product
from wagtail_licensing import operations

PAGES = "/admin/account/"  # any admin page but the dashboard
SEATS_KEY = "wagtail_licensing_alert:seats:editor"
FULL = "CMS editor (editor) uses 2 of its 2 seats."


@pytest.fixture
def full(install, manager, make_users, editors_group):
    """One alert: the editor product's seats are all in use."""
    install(
        products=[
            product("editor", "named", 2, name="CMS editor"),
            product("analytics", "named", None, name="Analytics"),
        ]
    )
    grant(manager, "analytics")
    operations.grant(make_users(2, groups=[editors_group]), ["editor"])


def page_of(client, url=ADMIN):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_dashboard_says_it_once(client, manager, full):
    content = page_of(login(client, manager))
    assert content.count(FULL) == 1  # the banner; the panel's table shows the status tag
    assert 'data-wagtail-licensing-alert="seats"' in content
    assert "data-licensing-warnings" not in content


def test_dismissed_for_a_day_through_wagtails_dismissibles(client, manager, full):
    login(client, manager)
    content = page_of(client, PAGES)
    shown_at = re.search(r'data-w-dismissible-value-param="([^"]+)"', content).group(1)
    assert f'data-w-dismissible-id-value="{SEATS_KEY}"' in content
    # What Wagtail's w-dismissible controller sends when the close button is pressed.
    response = client.patch(
        reverse("wagtailadmin_dismissibles"),
        json.dumps({SEATS_KEY: shown_at}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert FULL not in page_of(client, PAGES)
    # On the dashboard the panel now says it, once.
    dashboard = page_of(client)
    assert dashboard.count(FULL) == 1 and "data-licensing-warnings" in dashboard
    assert 'data-wagtail-licensing-alert="seats"' not in dashboard
    # A day later it comes back.
    profile = UserProfile.get_for_user(manager)
    profile.dismissibles[SEATS_KEY] = (timezone.now() - timedelta(hours=25)).isoformat()
    profile.save()
    assert page_of(client, PAGES).count(FULL) == 1
    assert "data-licensing-warnings" not in page_of(client)


def test_never_in_the_page_editor(client, superuser, full):
    grant(superuser, "analytics")
    login(client, superuser)
    assert FULL in page_of(client, PAGES)
    home = Page.objects.filter(depth=2).first()
    editor_page = page_of(client, reverse("wagtailadmin_pages:edit", args=[home.pk]))
    assert "data-wagtail-licensing-alert" not in editor_page


def test_product_page_states_over_allocation_once(
    client, manager, install, make_users, editors_group
):
    install(
        products=[
            product("editor", "named", 5, name="CMS editor"),
            product("analytics", "named", None),
        ]
    )
    grant(manager, "analytics")
    operations.grant(make_users(4, groups=[editors_group]), ["editor"])
    install(
        products=[
            product("editor", "named", 2, name="CMS editor"),
            product("analytics", "named", None),
        ]
    )
    login(client, manager)
    client.get(ADMIN)  # the login's messages
    content = page_of(client, reverse("wagtail_licensing:product", args=["editor"]))
    assert "data-over-allocated" in content
    assert 'data-wagtail-licensing-alert="over_allocated"' not in content
    # Elsewhere the banner says it.
    assert 'data-wagtail-licensing-alert="over_allocated"' in page_of(client, PAGES)


def test_installing_an_over_allocating_file_says_it_once(
    client, manager, install, make_users, editors_group, make_license
):
    install(
        products=[
            product("editor", "named", 5, name="CMS editor"),
            product("analytics", "named", None),
        ]
    )
    grant(manager, "analytics")
    operations.grant(make_users(4, groups=[editors_group]), ["editor"])
    login(client, manager)
    client.get(ADMIN)
    text = make_license(
        products=[
            product("editor", "named", 2, name="CMS editor"),
            product("analytics", "named", None),
        ]
    )
    response = client.post(
        "/admin/licensing/upload/", {"license_file": SimpleUploadedFile("a.lic", text.encode())}
    )
    preview = page_of(client, response["Location"])
    assert "it will be over-allocated" in preview  # the preview forecasts it
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    response = client.post(response["Location"], {"token": token, "action": "confirm"}, follow=True)
    content = response.content.decode()
    assert "installed." in content
    assert "it will be over-allocated" not in content
    assert content.count("is over-allocated") == 1
