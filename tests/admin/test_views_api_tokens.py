"""The API tokens screen: create (shown once), list, revoke; license managers only."""

import pytest
from django.urls import reverse

from tests.support.users import messages_of
from wagtail_licensing.models import ApiToken

pytestmark = pytest.mark.django_db

INDEX = "wagtail_licensing_api_tokens:index"


def test_editors_are_refused(client, editor):
    client.force_login(editor)
    response = client.get(reverse(INDEX))
    assert response.status_code == 302
    response = client.post(reverse(INDEX), {"name": "x"})
    assert response.status_code == 302
    assert not ApiToken.objects.exists()


def test_create_shows_the_token_once(client, manager, installed):
    client.force_login(manager)
    response = client.get(reverse(INDEX))
    assert response.status_code == 200
    assert "No API token yet." in response.content.decode()
    response = client.post(reverse(INDEX), {"name": "Monitoring", "read_only": "on"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    token = ApiToken.objects.get()
    secret = html.split("<code data-api-token>")[1].split("</code>")[0]
    assert secret.startswith(token.hint) and ApiToken.digest_of(secret) == token.digest
    assert token.user == manager and token.created_by == manager and token.read_only
    assert "/api/licensing/v1/license/" in html
    # Never again: the listing shows the first characters only.
    again = client.get(reverse(INDEX)).content.decode()
    assert secret not in again and f"{token.hint}…" in again


def test_create_read_and_write_token(client, manager):
    client.force_login(manager)
    client.post(reverse(INDEX), {"name": "Provisioning"})
    assert ApiToken.objects.get().read_only is False


def test_a_name_is_required(client, manager):
    client.force_login(manager)
    response = client.post(reverse(INDEX), {"name": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke(client, manager, superuser):
    client.force_login(superuser)
    client.post(reverse(INDEX), {"name": "Theirs"})
    token = ApiToken.objects.get()
    client.force_login(manager)
    revoke = reverse("wagtail_licensing_api_tokens:revoke", args=[token.pk])
    response = client.post(revoke)
    assert response.status_code == 302
    assert messages_of(response)[0][0] == "success"
    token.refresh_from_db()
    assert token.revoked
    response = client.post(revoke)
    assert messages_of(response)[-1][0] == "info"
    assert client.get(revoke).status_code == 405
    assert client.post(reverse("wagtail_licensing_api_tokens:revoke", args=[999])
                       ).status_code == 404


def test_in_the_licensing_menu(client, manager):
    client.force_login(manager)
    html = client.get(reverse("wagtail_licensing:license_manager")).content.decode()
    assert reverse(INDEX) in html
