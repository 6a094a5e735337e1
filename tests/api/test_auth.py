"""Authentication and the permission matrix: anonymous, editor, read-only token, manager token,
superuser, for every endpoint and method; token creation, digest and revocation."""

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from wagtail.models import ModelLogEntry

from tests.api.conftest import url
from wagtail_licensing import operations
from wagtail_licensing.models import ApiToken, LicensingState, PendingUpload, PortalUser

pytestmark = pytest.mark.django_db

READS = ["license/", "products/", "products/editor/", "assignments/",
         "users/editor/licenses/", "metrics/", "usage/", "idle-seats/", "groups/",
         "groups/Test%20editors/", "group-licenses/errors/"]
WRITES = ["assignments/grant/", "assignments/recall/", "group-licenses/reprocess/"]
# The other writes: (method, path, the body for a user, the status when allowed).
LICENSE_WRITES = ["license-file/", "license-file/preview/", "license-file/confirm/",
                  "license-file/ (delete)", "license-request/", "portal-users/",
                  "portal-users/convert/"]
BODY = {"users": ["editor"], "products": ["analytics"]}


def as_(client, who, request, token_for):
    """A client acting as ``who``."""
    if who == "anonymous":
        return client
    if who == "editor":
        client.force_login(request.getfixturevalue("editor"))
    elif who == "superuser":
        client.force_login(request.getfixturevalue("superuser"))
    elif who == "editor token":
        client.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(
            request.getfixturevalue("editor")))
    else:
        manager = request.getfixturevalue("manager")
        secret = token_for(manager, read_only=(who == "read-only token"))
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


# who -> (status of a read, status of a write)
MATRIX = {
    "anonymous": (401, 401),
    "editor": (403, 403),
    "editor token": (403, 403),
    "read-only token": (200, 403),
    "manager token": (200, 200),
    "superuser": (200, 200),
}


@pytest.mark.parametrize("who", MATRIX)
@pytest.mark.parametrize("path", READS)
def test_reads(api, who, path, request, token_for, installed, editor):
    response = as_(api, who, request, token_for).get(url(path))
    assert response.status_code == MATRIX[who][0], response.content
    if response.status_code != 200:
        assert response["Content-Type"] == "application/problem+json"
    if response.status_code == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("who", MATRIX)
@pytest.mark.parametrize("path", WRITES)
def test_writes(api, who, path, request, token_for, installed, editor):
    response = as_(api, who, request, token_for).post(url(path), BODY, format="json")
    assert response.status_code == MATRIX[who][1], response.content
    if response.status_code == 403 and who == "read-only token":
        assert "read-only" in response.json()["detail"]


def license_write(client, path, acting, request):
    """Call one of LICENSE_WRITES with a body that succeeds for a manager; its status when
    allowed."""
    make_license = request.getfixturevalue("make_license")
    if path == "license-file/ (delete)":
        return client.delete(url("license-file/")), 200
    if path in ("license-file/", "license-file/preview/"):
        upload = SimpleUploadedFile("acme.lic", make_license().encode())
        return client.post(url(path), {"license_file": upload}, format="multipart"), 200
    if path == "license-file/confirm/":
        token = uuid.uuid4()
        if acting is not None:
            token = PendingUpload.store(kind=PendingUpload.Kind.LICENSE_FILE, user=acting,
                                        filename="a.lic", content=make_license().encode()).token
        return client.post(url(path), {"token": str(token)}, format="json"), 200
    if path == "license-request/":
        return client.post(url(path), {}, format="json"), 200
    if path == "portal-users/":
        return client.post(url(path), {"email": "new@example.com"}, format="json"), 201
    (plain,) = request.getfixturevalue("make_users")(1, prefix="plain")
    return client.post(url(path), {"user": plain.username}, format="json"), 200


ACTING = {"editor": "editor", "editor token": "editor", "read-only token": "manager",
          "manager token": "manager", "superuser": "superuser"}


@pytest.mark.parametrize("who", MATRIX)
@pytest.mark.parametrize("path", LICENSE_WRITES)
def test_license_writes(api, who, path, request, token_for, installed, editor):
    client = as_(api, who, request, token_for)
    acting = request.getfixturevalue(ACTING[who]) if who in ACTING else None
    before = (LicensingState.get().installed_file_id, PendingUpload.objects.count())
    response, allowed = license_write(client, path, acting, request)
    expected = allowed if MATRIX[who][1] == 200 else MATRIX[who][1]
    assert response.status_code == expected, (response.status_code, response.content[:300])
    if expected != allowed:
        assert response["Content-Type"] == "application/problem+json"
        after = (LicensingState.get().installed_file_id, PendingUpload.objects.count())
        assert after[0] == before[0]
        assert after[1] == before[1] + (path == "license-file/confirm/" and acting is not None)
        assert not PortalUser.objects.exists()


@pytest.mark.parametrize("who", MATRIX)
@pytest.mark.parametrize("path", [p for p in LICENSE_WRITES if " " not in p])
def test_license_writes_allow_no_get(api, who, path, request, token_for, installed, editor):
    response = as_(api, who, request, token_for).get(url(path))
    assert response.status_code == (405 if MATRIX[who][0] == 200 else MATRIX[who][0])


@pytest.mark.parametrize("who", MATRIX)
@pytest.mark.parametrize("path", READS)
def test_reads_allow_no_writes(api, who, path, request, token_for, installed, editor):
    """Read endpoints answer POST, PUT, PATCH, DELETE with 405 to whoever may use them."""
    client = as_(api, who, request, token_for)
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(url(path), {}, format="json")
        expected = MATRIX[who][0] if MATRIX[who][0] != 200 else 405
        if who == "read-only token":
            expected = 403  # refused before the method is looked at
        assert response.status_code == expected, (method, response.content)


@pytest.mark.parametrize("who", MATRIX)
@pytest.mark.parametrize("path", WRITES)
def test_writes_allow_no_get(api, who, path, request, token_for, installed, editor):
    response = as_(api, who, request, token_for).get(url(path))
    assert response.status_code == (405 if MATRIX[who][0] == 200 else MATRIX[who][0])


def test_session_writes_need_the_csrf_token(installed, manager, editor):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(url("assignments/grant/"), BODY, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_token_is_stored_as_its_digest_and_shown_once(manager):
    result = operations.create_api_token(name="Monitoring", user=manager)
    assert result.secret.startswith("wlt_") and len(result.secret) > 40
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(result.secret.encode()).hexdigest()
    assert result.secret not in {token.digest, token.hint, token.name}
    assert token.user == manager and token.read_only is True
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.api_token")
    assert result.secret not in str(entry.data)
    assert entry.data["event"] == "created"


@pytest.mark.parametrize("header", [
    "Bearer wlt_nope", "Bearer", "Bearer a b", "bearer wlt_nope",
])
def test_bad_tokens_are_401(api, installed, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(url("license/"))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_revoked_token_and_inactive_user_are_401(api, installed, manager, token_for):
    secret = token_for(manager)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(url("license/")).status_code == 200
    manager.is_active = False
    manager.save()
    assert api.get(url("license/")).status_code == 401
    manager.is_active = True
    manager.save()
    result = operations.revoke_api_token(ApiToken.objects.get(), user=manager)
    assert result.revoked
    assert api.get(url("license/")).status_code == 401
    assert not operations.revoke_api_token(ApiToken.objects.get(), user=manager).changed


def test_a_token_follows_its_users_permission(api, installed, manager, managers_group,
                                              token_for):
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager))
    assert api.get(url("license/")).status_code == 200
    manager.groups.remove(managers_group)
    manager = type(manager).objects.get(pk=manager.pk)
    assert api.get(url("license/")).status_code == 403


def test_api_token_grant_is_logged_as_its_user(api, installed, manager, editor, token_for):
    api.credentials(HTTP_AUTHORIZATION="Bearer " + token_for(manager))
    assert api.post(url("assignments/grant/"), BODY, format="json").status_code == 200
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.grant")
    assert entry.user_id == manager.pk


def test_token_last_use_is_recorded_at_most_once_a_minute(api, installed, manager, token_for,
                                                          django_assert_num_queries):
    secret = token_for(manager)
    token = ApiToken.objects.get()
    assert token.last_used_at is None
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(url("products/")).status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    # Within the minute: the token's row is read anyway, and nothing is written.
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url("products/")).status_code == 200
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == first
    # A minute later: one UPDATE.
    ApiToken.objects.update(last_used_at=first - timedelta(minutes=2))
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url("products/")).status_code == 200
    assert len([q for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]) == 1
    token.refresh_from_db()
    assert token.last_used_at > first


def test_touch_keeps_the_latest_use(manager, token_for):
    token_for(manager)
    token = ApiToken.objects.get()
    now = timezone.now()
    assert operations.touch_api_token(token, now=now)
    assert not operations.touch_api_token(token, now=now + timedelta(seconds=30))
    stale = ApiToken.objects.get()  # as another process read it before the write
    stale.last_used_at = None
    assert not operations.touch_api_token(stale, now=now + timedelta(seconds=30))
    assert ApiToken.objects.get().last_used_at == now


def test_last_use_is_shown_in_the_listing(client, manager, token_for):
    token_for(manager)
    client.force_login(manager)
    html = client.get("/admin/licensing/api-tokens/").content.decode()
    assert "Last used" in html and "Never" in html
    ApiToken.objects.update(last_used_at=timezone.now())
    html = client.get("/admin/licensing/api-tokens/").content.decode()
    assert "Never" not in html and "<time datetime=" in html
