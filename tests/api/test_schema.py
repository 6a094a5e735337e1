"""The OpenAPI document: generated from the code, valid OpenAPI 3.1, describing every
endpoint and its problem responses."""

import pytest
from openapi_spec_validator import validate

from tests.api.conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(manager_api):
    response = manager_api.get(url("schema/"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_document_is_valid_openapi_31(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_it_describes_every_endpoint_and_only_those(document):
    assert set(document["paths"]) == {
        "/api/licensing/v1/license/", "/api/licensing/v1/products/",
        "/api/licensing/v1/products/{code}/", "/api/licensing/v1/assignments/",
        "/api/licensing/v1/assignments/grant/", "/api/licensing/v1/assignments/recall/",
        "/api/licensing/v1/users/{user}/licenses/", "/api/licensing/v1/metrics/",
        "/api/licensing/v1/license-file/", "/api/licensing/v1/license-file/preview/",
        "/api/licensing/v1/license-file/confirm/", "/api/licensing/v1/license-request/",
        "/api/licensing/v1/portal-users/", "/api/licensing/v1/portal-users/convert/",
        "/api/licensing/v1/usage/", "/api/licensing/v1/idle-seats/",
        "/api/licensing/v1/groups/", "/api/licensing/v1/groups/{group}/",
        "/api/licensing/v1/groups/{group}/bind/", "/api/licensing/v1/groups/{group}/unbind/",
        "/api/licensing/v1/group-licenses/reprocess/", "/api/licensing/v1/group-licenses/errors/"}
    grant = document["paths"]["/api/licensing/v1/assignments/grant/"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(grant["responses"])
    assert "requestBody" in grant
    upload = document["paths"]["/api/licensing/v1/license-file/preview/"]["post"]
    assert set(upload["requestBody"]["content"]) == {
        "multipart/form-data", "application/octet-stream", "text/plain",
        "application/x-wagtail-license"}
    assert {"200", "400", "401", "403", "409"} <= set(upload["responses"])
    assert set(document["paths"]["/api/licensing/v1/license-file/"]) == {"post", "delete"}
    assert "201" in document["paths"]["/api/licensing/v1/portal-users/"]["post"]["responses"]
    usage = document["paths"]["/api/licensing/v1/usage/"]["get"]
    assert {p["name"] for p in usage["parameters"]} >= {"product", "start", "end", "page"}
    listing = document["paths"]["/api/licensing/v1/assignments/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"product", "user", "source", "held",
                                                          "page"}
    bind = document["paths"]["/api/licensing/v1/groups/{group}/bind/"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(bind["responses"])
    errors = document["paths"]["/api/licensing/v1/group-licenses/errors/"]["get"]
    assert {p["name"] for p in errors["parameters"]} >= {"group", "product", "user", "page"}


def test_it_names_both_ways_to_authenticate(document):
    schemes = document["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} >= {"http", "apiKey"}


def test_the_schema_needs_no_login_and_no_warnings(api, capsys):
    """Served to anyone (it says nothing about the site's licenses), generated without
    drf-spectacular warnings."""
    response = api.get(url("schema/"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "Warning" not in capsys.readouterr().err


def test_errors_are_documented_as_problem_details(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert set(response["content"]) == {"application/problem+json"}, (
                        path, method, code)
