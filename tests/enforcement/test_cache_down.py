"""When the cache is unreachable, enforcement decides from the database (slower, still correct)
and logs a warning; changes still commit and report success; no response is a 500.

``BrokenCache`` raises on every call, as Redis does when its server is down. It is the cache the
licensing app uses (``CACHE_ALIAS``), or the site's whole default cache.
"""

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from tests.admin.test_bulk_actions import grant_url, recall_url
from tests.support.broken_cache import BrokenCache
from tests.support.enforcement import ADMIN, LICENSE_MANAGER, PAGES, SESSIONS, grant, login
from tests.support.users import holders, messages_of
from wagtail_licensing import cache, enforcement, operations
from wagtail_licensing.enforcement import AdminAccess
from wagtail_licensing.models import ConcurrentSession

LICENSING_SCREENS = [LICENSE_MANAGER, SESSIONS, "/admin/licensing/users/", "/admin/licensing/history/",
                     "/admin/licensing/products/editor/",
                     "/admin/licensing/request/"]


@pytest.fixture(params=["licensing", "default"])
def cache_down(request, settings):
    """The cache the licensing app uses raises on every call: a cache of its own
    (``CACHE_ALIAS``), or the site's default cache, which Wagtail uses too."""
    alias = request.param
    settings.CACHES = {**settings.CACHES, alias: {
        "BACKEND": "tests.support.broken_cache.BrokenCache"}}
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "CACHE_ALIAS": alias}
    BrokenCache.calls = 0
    getattr(cache, 'forget_failure', lambda: None)()
    return alias


def test_signed_in_requests_decide_from_the_database(cache_down, client, editor, installed,
                                                     caplog):
    grant(editor, "editor")
    login(client, editor)
    with caplog.at_level(logging.WARNING, logger="wagtail_licensing"):
        assert client.get(ADMIN).status_code == 200
        assert client.get(PAGES).status_code == 200
    assert BrokenCache.calls > 0  # the cache was asked, and failed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # at most once a minute
    assert "cache" in warnings[0].getMessage()
    assert "Connection refused" in warnings[0].getMessage()

    operations.recall([editor], ["editor"])
    assert client.get(ADMIN).status_code == 403
    grant(editor, "editor")
    assert client.get(ADMIN).status_code == 200


def test_managers_screens_are_not_500(cache_down, client, manager, installed):
    login(client, manager)
    response = client.get(ADMIN)  # no license: sent to the licensing screens
    assert response.status_code == 302
    assert response.url == LICENSE_MANAGER
    for path in LICENSING_SCREENS:
        assert client.get(path).status_code == 200, path
    grant(manager, "editor")
    for path in [ADMIN, PAGES, "/admin/users/", *LICENSING_SCREENS]:
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db(transaction=True)
def test_a_grant_and_a_recall_through_the_admin_commit_and_report_success(
        cache_down, manager, editor, installed):
    """With real commits: the cache writes after commit fail, and the change stands."""
    grant(manager, "analytics")
    client, editors_client = Client(), Client()
    login(client, manager)
    login(editors_client, editor)
    assert editors_client.get(ADMIN).status_code == 403

    response = client.post(grant_url(editor), {"products": ["editor"]})
    assert response.status_code == 302
    assert [level for level, _text in messages_of(response)] == ["success"]
    assert holders("editor") == {"editor"}
    assert editors_client.get(ADMIN).status_code == 200

    response = client.post(recall_url(editor), {"products": ["editor"]})
    assert response.status_code == 302
    assert [level for level, _text in messages_of(response)] == ["success"]
    assert holders("editor") == set()
    assert editors_client.get(ADMIN).status_code == 403  # refused on the next request


def test_the_command_reports_success(cache_down, editor, installed):
    out = StringIO()
    call_command("licensing", "grant", "--product", "editor", "editor", stdout=out)
    assert holders("editor") == {"editor"}
    assert enforcement.get_access(editor).admin == AdminAccess.FULL
    call_command("licensing", "recall", "--product", "editor", "editor", stdout=out)
    assert holders("editor") == set()
    assert enforcement.get_access(editor).admin == AdminAccess.DENIED


def test_group_changes_commit(cache_down, client, editor, managers_group, installed):
    login(client, editor)
    assert client.get(LICENSE_MANAGER).status_code == 403
    editor.groups.add(managers_group)  # renews cached decisions after commit
    assert client.get(LICENSE_MANAGER).status_code == 200
    editor.groups.remove(managers_group)
    assert client.get(LICENSE_MANAGER).status_code == 403


def test_a_concurrent_slot_is_taken_and_kept(cache_down, client, editor, installed):
    grant(editor, "occasional")
    login(client, editor)
    for _ in range(3):
        assert client.get(ADMIN).status_code == 200
    assert ConcurrentSession.objects.live().filter(product_code="occasional").count() == 1
