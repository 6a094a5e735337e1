"""A NUL character anywhere a client can put one is a 400 or a 404, never a 500 (PostgreSQL
refuses NUL in text: CI runs this file there too)."""

import pytest

from tests.api.conftest import url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "assignments/grant/", {"users": ["a\x00b"], "products": ["editor"]}),
        ("post", "assignments/recall/", {"users": ["a\x00b"], "products": ["editor"]}),
        ("post", "assignments/grant/", {"users": ["editor"], "products": ["ed\x00"]}),
        ("post", "portal-users/convert/", {"user": "\x00"}),
        ("post", "portal-users/", {"email": "a@example.com", "username": "a\x00"}),
        ("post", "license-request/", {"company_id": "AC\x00ME"}),
        ("get", "products/%00/", None),
        ("get", "users/%00/licenses/", None),
        ("get", "assignments/?user=%00", None),
        ("get", "assignments/?product=%00", None),
        ("get", "usage/?product=%00", None),
        ("get", "idle-seats/?product=%00", None),
    ],
)
def test_nul_is_never_a_server_error(manager_api, installed, editor, method, path, body):
    if body is None:
        response = manager_api.get(url(path))
    else:
        response = getattr(manager_api, method)(url(path), body, format="json")
    assert response.status_code in (400, 404), response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
