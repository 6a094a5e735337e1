"""Refusals that say what happened (issue 12 item 14): a no-change import offers no confirm,
another manager's upload says whose it is, a stray CSV quote is explained in plain words, and
the bulk Grant page in demo mode says no license is installed."""

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.admin.test_bulk_actions import grant_url
from wagtail_licensing import operations
from wagtail_licensing.exceptions import InvalidImportFile
from wagtail_licensing.models import PendingUpload
from wagtail_licensing.resources import read_assignments

IMPORT_URL = "/admin/licensing/assignments/import/"


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def preview_url(kind, token):
    name = ("wagtail_licensing_assignments:import_preview"
            if kind == PendingUpload.Kind.ASSIGNMENTS else "wagtail_licensing:upload_preview")
    return reverse(name, args=[token])


def test_a_file_that_changes_nothing_offers_no_confirm(client, installed, make_users, manager):
    (person,) = make_users(1)
    operations.grant([person], ["editor"])
    client.force_login(manager)
    response = client.post(IMPORT_URL, {"file": SimpleUploadedFile(
        "same.csv", f"username,product\n{person.username},editor\n".encode())})
    page = client.get(response["Location"]).content.decode()
    assert "data-import-nothing" in page
    assert 'value="confirm"' not in page and "Confirm and import" not in page
    assert 'value="cancel"' in page


@pytest.mark.parametrize("kind", [PendingUpload.Kind.ASSIGNMENTS,
                                  PendingUpload.Kind.LICENSE_FILE])
def test_another_managers_upload_says_whose_it_is(client, installed, manager, superuser,
                                                 make_license, kind):
    content = (b"username,product\nmanager,editor\n" if kind == PendingUpload.Kind.ASSIGNMENTS
               else make_license().encode())
    pending = PendingUpload.store(kind=kind, user=superuser, filename="theirs", content=content)
    client.force_login(manager)
    for response in (client.get(preview_url(kind, pending.token), follow=True),
                     client.post(preview_url(kind, pending.token),
                                 {"token": pending.token, "action": "confirm"}, follow=True)):
        texts = " ".join(messages_of(response))
        assert "uploaded by another license manager" in texts
        assert "confirmed, cancelled or has expired" not in texts
    assert PendingUpload.objects.filter(pk=pending.pk).exists()
    # An unknown token is still "no longer waiting".
    pending.delete()
    response = client.get(preview_url(kind, pending.token), follow=True)
    assert "no longer waiting" in " ".join(messages_of(response))


@pytest.mark.parametrize("content", [
    b'username,product\n"manager"x,editor\n',  # "',' expected after '\"'"
    b'username,product\nmanager,"editor\n',  # a quote never closed
], ids=["after-quote", "never-closed"])
def test_a_stray_quote_is_explained(content):
    with pytest.raises(InvalidImportFile) as refused:
        list(read_assignments(content, filename="people.csv"))
    message = str(refused.value.message)
    assert "expected after" not in message and "unexpected end" not in message
    assert "double quote" in message


def test_bulk_grant_in_demo_mode_says_no_license_is_installed(client, db, make_users, manager):
    (person,) = make_users(1)
    client.force_login(manager)
    page = client.get(grant_url(person)).content.decode()
    assert "No license is installed" in page
    assert "No product of the installed license is valid today" not in page
