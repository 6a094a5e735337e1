"""Authentication and the permission matrix: anonymous, editor, read-only token, manager token,
superuser, for every endpoint and method; token creation, digest and revocation."""

import hashlib

import pytest
from rest_framework.test import APIClient
from wagtail.models import ModelLogEntry

from tests.api.conftest import url
from wagtail_licensing import operations
from wagtail_licensing.models import ApiToken

pytestmark = pytest.mark.django_db

READS = ["license/", "products/", "products/editor/", "assignments/",
         "users/editor/licenses/", "metrics/"]
WRITES = ["assignments/grant/", "assignments/recall/"]
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
