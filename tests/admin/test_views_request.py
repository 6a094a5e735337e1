"""Request a license from the admin: the .tlr download, the e-mail, the hooks."""

import json

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from wagtail import hooks
from wagtail.models import ModelLogEntry

from wagtail_licensing import __version__, operations
from wagtail_licensing.models import LicensingState

URL = "/admin/licensing/request/"


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def messages_of(response):
    return [str(m).strip() for m in response.wsgi_request._messages]


def test_form_is_prefilled(manager_client, state):
    response = manager_client.get(URL)
    form = response.context["form"]
    assert form["company_id"].value() == "ACME"  # the COMPANY_ID setting in demo mode
    assert form["license_version"].value() == ""  # not this app's own version
    assert __version__ not in str(form["license_version"])
    assert str(state.instance_id) in response.content.decode()


def test_license_version_of_the_installed_license_or_the_setting(manager_client, install,
                                                                 settings):
    """Issue 12 item 7: the installed license says "1.0", so the request asks for "1.0"; a
    LICENSE_VERSION setting naming the site's product version wins."""
    install()
    assert manager_client.get(URL).context["form"]["license_version"].value() == "1.0"
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "LICENSE_VERSION": "2.3"}
    assert manager_client.get(URL).context["form"]["license_version"].value() == "2.3"


def test_company_id_of_the_installed_license_wins(manager_client, install, settings):
    install(company_id="ACME-CORP")
    assert manager_client.get(URL).context["form"]["company_id"].value() == "ACME-CORP"


def test_generates_and_downloads_the_request(manager_client, manager, state):
    response = manager_client.post(URL, {"company_id": "ACME", "license_version": "2.0"})
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and ".tlr" in disposition
    data = json.loads(response.content)
    assert data["company_id"] == "ACME"
    assert data["license_version"] == "2.0"
    assert data["instance_id"] == str(state.instance_id)
    assert data["generated_by"] == "manager"
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.request")
    assert entry.user == manager
    assert any("has been downloaded" in m for m in messages_of(response))
    assert not mail.outbox


def test_emails_the_request_when_configured(manager_client, settings, vendor):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING,
                                  "REQUEST_EMAIL": "licensing@vendor.example"}
    assert "also e-mailed to" in manager_client.get(URL).content.decode()
    response = manager_client.post(URL, {"company_id": "ACME", "license_version": "1.0"})
    assert response.status_code == 200
    (message,) = mail.outbox
    assert message.to == ["licensing@vendor.example"]
    assert message.reply_to == ["manager@example.com"]
    ((filename, content, mimetype),) = message.attachments
    assert filename.endswith(".tlr")
    assert json.loads(content)["company_id"] == "ACME"
    assert content == response.content
    assert any("has been downloaded and sent to licensing@vendor.example" in m
               for m in messages_of(response))


def test_email_failure_still_downloads(manager_client, settings, monkeypatch):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING,
                                  "REQUEST_EMAIL": "licensing@vendor.example"}

    def broken(self, fail_silently=False):
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    response = manager_client.post(URL, {"company_id": "ACME", "license_version": "1.0"})
    assert response.status_code == 200 and response.content
    assert any("could not be e-mailed" in m for m in messages_of(response))


def test_hook_results_are_reported(manager_client):
    def to_portal(user, request):
        return "sent to licensing.example.com"

    with hooks.register_temporarily(operations.AFTER_LICENSE_REQUEST_CREATED, to_portal):
        response = manager_client.post(URL, {"company_id": "ACME", "license_version": "1.0"})
    assert any(m.endswith(": sent to licensing.example.com") for m in messages_of(response))


def test_other_truthy_hook_results_say_sent_elsewhere(manager_client):
    with hooks.register_temporarily(operations.AFTER_LICENSE_REQUEST_CREATED,
                                    lambda user, request: {"ticket": 42}):
        response = manager_client.post(URL, {"company_id": "ACME", "license_version": "1.0"})
    assert any("was also sent elsewhere by this site" in m for m in messages_of(response))


def test_falsy_hook_results_say_nothing(manager_client):
    with hooks.register_temporarily(operations.AFTER_LICENSE_REQUEST_CREATED,
                                    lambda user, request: None):
        response = manager_client.post(URL, {"company_id": "ACME", "license_version": "1.0"})
    assert not any("elsewhere" in m or m.startswith("License request")
                   for m in messages_of(response))


def test_company_id_is_required(manager_client):
    version = LicensingState.get().version
    response = manager_client.post(URL, {"company_id": "  ", "license_version": "1.0"})
    assert response.status_code == 200
    assert "company_id" in response.context["form"].errors
    assert "Content-Disposition" not in response
    assert not ModelLogEntry.objects.filter(action="wagtail_licensing.request").exists()
    assert LicensingState.get().version == version


def test_csrf_is_enforced(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(URL, {"company_id": "ACME", "license_version": "1.0"})
    assert response.status_code == 403
    assert not ModelLogEntry.objects.filter(action="wagtail_licensing.request").exists()
    client.get(URL)
    response = client.post(URL, {"company_id": "ACME", "license_version": "1.0",
                                 "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 200 and "Content-Disposition" in response


def test_reverse():
    assert reverse("wagtail_licensing:request") == URL
