"""When the cache is unreachable, enforcement decides from the database (slower, still correct)
and logs a warning; changes still commit and report success; no response is a 500.

``BrokenCache`` raises on every call, as Redis does when its server is down. It is the cache the
licensing app uses (``CACHE_ALIAS``), or the site's whole default cache.
"""

import logging
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

import wagtail_licensing
from tests.admin.test_bulk_actions import grant_url, recall_url
from tests.support.broken_cache import BrokenCache
from tests.support.enforcement import ADMIN, LICENSE_MANAGER, PAGES, SESSIONS, grant, login
from tests.support.users import holders, messages_of
from wagtail_licensing import cache, enforcement, operations
from wagtail_licensing.enforcement import AdminAccess
from wagtail_licensing.models import ConcurrentSession

LICENSING_SCREENS = [LICENSE_MANAGER, SESSIONS, "/admin/licensing/users/",
                     "/admin/licensing/history/", "/admin/licensing/products/editor/",
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
    cache.forget_failure()
    return alias


def test_signed_in_requests_decide_from_the_database(cache_down, client, editor, installed,
                                                     caplog):
    grant(editor, "editor")
    login(client, editor)
    cache.forget_failure()
    with caplog.at_level(logging.WARNING, logger="wagtail_licensing"):
        assert client.get(ADMIN).status_code == 200
        assert client.get("/admin/account/").status_code == 200
    assert BrokenCache.calls > 0  # the cache was asked, and failed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # at most once a minute
    assert "cache" in warnings[0].getMessage()
    assert "Connection refused" in warnings[0].getMessage()

    operations.recall([editor], ["editor"])
    assert client.get(ADMIN).status_code == 403
    grant(editor, "editor")
    assert client.get(ADMIN).status_code == 200


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_managers_screens_are_not_500(cache_down, client, request, who, installed):
    user = request.getfixturevalue(who)
    login(client, user)
    response = client.get(ADMIN)  # no license: sent to the licensing screens
    assert response.status_code == 302
    assert response.url == LICENSE_MANAGER
    for path in LICENSING_SCREENS:
        assert client.get(path).status_code == 200, path
    grant(user, "editor")
    pages = [ADMIN, "/admin/account/", *LICENSING_SCREENS]
    if who == "superuser":
        pages += ["/admin/users/", "/admin/groups/", "/admin/images/"]
        if cache_down == "default":
            # Wagtail's own page screens (and the dashboard of users who may see pages) read
            # the default cache themselves (Site.get_site_root_paths) and fail without it.
            pages.remove(ADMIN)
        else:
            pages.append(PAGES)
    for path in pages:
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
    assert messages_of(response) == [
        ("success", "Granted CMS editor (editor) to 1 user: editor.")]
    assert client.get(response.url).status_code == 200  # the listing shows the message
    assert holders("editor") == {"editor"}
    assert editors_client.get(ADMIN).status_code == 200

    response = client.post(recall_url(editor), {"products": ["editor"]})
    assert response.status_code == 302
    assert messages_of(response) == [
        ("success", "Recalled CMS editor (editor) from 1 user: editor.")]
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


# The safe cache ---------------------------------------------------------------------------------


@pytest.fixture
def safe(settings):
    settings.CACHES = {**settings.CACHES, "down": {
        "BACKEND": "tests.support.broken_cache.BrokenCache"}}
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "CACHE_ALIAS": "down"}
    cache.forget_failure()
    return cache.get_cache()


def test_every_call_of_a_cache_that_is_down_is_a_miss(safe):
    assert safe.get("k") is None
    assert safe.get("k", "default") == "default"
    assert safe.get_many(["k", "l"]) == {}
    assert safe.has_key("k") is False
    assert safe.add("k", 1) is False
    assert safe.set("k", 1) is None
    assert safe.set_many({"k": 1, "l": 2}) == ["k", "l"]
    assert safe.touch("k") is False
    assert safe.delete("k") is False
    assert safe.delete_many(["k"]) is None
    with pytest.raises(ValueError, match="not found"):
        safe.incr("k")
    with pytest.raises(ValueError, match="not found"):
        safe.decr("k")


def test_a_working_cache_answers_through_the_wrapper(settings):
    working = cache.get_cache()  # the tests' LocMemCache
    assert working.add("k", 1) is True
    assert working.get("k") == 1
    assert working.incr("k", 2) == 3
    assert working.decr("k") == 2
    assert working.set_many({"l": 5}) == []
    assert working.get_many(["k", "l", "m"]) == {"k": 2, "l": 5}
    with pytest.raises(ValueError):
        working.incr("missing")


def test_the_failure_is_logged_once_a_minute(safe, caplog, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(cache, "clock", lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="wagtail_licensing"):
        for _ in range(5):
            safe.get("k")
        now[0] += 59
        safe.set("k", 1)
        now[0] += 1
        safe.get_many(["k"])
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("The licensing cache 'down' failed (get: CacheDown: Error 111")
    assert "worked out from the database" in messages[0]
    assert messages[1].startswith("The licensing cache 'down' failed (get_many: CacheDown")


def test_the_app_reaches_its_cache_only_through_get_cache():
    """One place makes the cache safe: no other module of the package opens a cache itself."""
    package = Path(wagtail_licensing.__file__).parent
    offenders = [
        str(path.relative_to(package)) for path in package.rglob("*.py")
        if path.name != "cache.py" or path.parent != package
        if re.search(r"^\s*(from|import) django\.core\.cache|\bcaches\[", path.read_text(), re.M)
    ]
    assert offenders == []
