"""The database refusing connections: signed-in admin users get a clear 503 page (with
Retry-After) that needs no database, not a bare server error; the front end is left to the
site's own error handling."""

import logging

import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory

from tests.support.enforcement import ADMIN, LICENSE_MANAGER, PAGES, grant, login
from wagtail_licensing.middleware import LicenseEnforcementMiddleware

pytestmark = pytest.mark.django_db

REFUSED = ('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
           "Connection refused")


@pytest.fixture
def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError(REFUSED)

    def down():
        monkeypatch.setattr(connection, "cursor", refuse)
        monkeypatch.setattr(connection, "chunked_cursor", refuse)
    return down


@pytest.mark.parametrize("path", [ADMIN, PAGES, LICENSE_MANAGER, "/admin/licensing/users/"])
def test_signed_in_admin_requests_get_the_unavailable_page(installed, client, superuser,
                                                           database_down, caplog, path):
    grant(superuser, "editor")
    login(client, superuser)
    assert client.get(path).status_code == 200  # warm: the decision is cached
    database_down()
    with caplog.at_level(logging.ERROR, logger="wagtail_licensing"):
        response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "data-wagtail-licensing-database-unavailable" in page
    assert "The site cannot reach its database" in page
    assert "Connection refused" not in page  # the reason is for the log, not the page
    assert "The database could not be reached for " + path in caplog.text


def test_a_view_that_loses_the_database_gets_the_same_page():
    middleware = LicenseEnforcementMiddleware(lambda request: None)
    response = middleware.process_exception(RequestFactory().get(PAGES),
                                            OperationalError(REFUSED))
    assert response.status_code == 503
    assert middleware.process_exception(RequestFactory().get("/blog/"),
                                        OperationalError(REFUSED)) is None
    assert middleware.process_exception(RequestFactory().get(PAGES), ValueError()) is None
