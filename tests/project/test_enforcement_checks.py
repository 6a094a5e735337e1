"""System checks of the enforcement settings (wagtail_licensing.W010 - W019)."""

import pytest
from django.core.cache import caches
from django.core.checks import run_checks
from django.test import override_settings
from django.urls import reverse

from tests.enforcement.test_concurrent import occasional, sign_in, slots  # noqa: F401
from tests.support.enforcement import ADMIN
from tests.support.queries import count_queries

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
DUMMY = "django.core.cache.backends.dummy.DummyCache"

MIDDLEWARE = "wagtail_licensing.middleware.LicenseEnforcementMiddleware"


def ids(settings, **values):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, **values}
    return sorted(m.id for m in run_checks() if m.id.startswith("wagtail_licensing"))


def test_test_settings_pass(settings):
    assert ids(settings) == []


def test_missing_middleware_is_reported(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    assert ids(settings) == ["wagtail_licensing.W010"]


def test_middleware_before_authentication_is_an_error(settings):
    rest = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    settings.MIDDLEWARE = [MIDDLEWARE, *rest]
    assert ids(settings) == ["wagtail_licensing.E011", "wagtail_licensing.E011"]


@pytest.mark.parametrize("features", [
    ["forms"],
    {"forms": ["cms-marketing"]},
    {"forms": {"products": []}},
    {"forms": {"products": "cms-marketing"}},
    {"forms": {"products": ["cms-marketing"], "menu_item": ["forms"]}},
    {"forms": {"products": ["cms-marketing"], "admin_url_prefixes": ["admin/forms/"]}},
    {"forms": {"products": ["cms-marketing"], "menu_items": "forms"}},
])
def test_malformed_features(settings, features):
    assert ids(settings, FEATURES=features) == ["wagtail_licensing.E012"]


def test_wellformed_features(settings):
    assert ids(settings, FEATURES={"forms": {
        "products": ["cms-marketing"], "admin_url_prefixes": ["/admin/forms/"],
        "menu_items": ["forms"], "label": "Forms"}}) == []


def test_idle_minutes_must_be_at_least_one(settings):
    assert ids(settings, CONCURRENT_IDLE_MINUTES=0) == ["wagtail_licensing.E016"]


def test_admin_products_and_notify_days(settings):
    assert ids(settings, ADMIN_PRODUCTS="cms-editor") == ["wagtail_licensing.E013"]
    assert ids(settings, ADMIN_PRODUCTS=["cms-editor"]) == []
    assert ids(settings, NOTIFY_DAYS=[30, -1]) == ["wagtail_licensing.E014"]
    assert ids(settings, NOTIFY_DAYS=7) == ["wagtail_licensing.E014"]


def deploy_messages():
    return {m.id: m for m in run_checks(include_deployment_checks=True)
            if m.id.startswith("wagtail_licensing")}


def test_deploy_check_wants_a_shared_cache(settings, tmp_path):
    assert "wagtail_licensing.W015" in deploy_messages()  # the tests' LocMemCache
    assert "wagtail_licensing.W015" not in ids(settings)  # only with check --deploy
    settings.CACHES = {**settings.CACHES, "shared": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path)}}
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "CACHE_ALIAS": "shared"}
    assert "wagtail_licensing.W015" not in deploy_messages()
    assert ids(settings) == []


def test_w015_says_how_long_changes_take_to_reach_other_processes(settings):
    message = deploy_messages()["wagtail_licensing.W015"].msg
    assert "within 5 seconds (STATE_RECHECK_SECONDS)" in message
    assert "given another free slot, not signed out" in message
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "STATE_RECHECK_SECONDS": 30}
    assert "within 30 seconds" in deploy_messages()["wagtail_licensing.W015"].msg
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "STATE_RECHECK_SECONDS": 0}
    assert "on their next request, at the cost of one query per request" in (
        deploy_messages()["wagtail_licensing.W015"].msg)


def test_a_cache_alias_that_names_no_cache_is_an_error(settings, client, superuser):
    assert ids(settings, CACHE_ALIAS="licensing") == ["wagtail_licensing.E018"]
    # What the error says: the admin fails on every request.
    client.force_login(superuser)
    with pytest.raises(Exception, match="licensing"):
        client.get(ADMIN)


def test_dummy_cache_is_reported_in_plain_check(settings):
    settings.CACHES = {**settings.CACHES, "none": {"BACKEND": DUMMY}}
    assert ids(settings, CACHE_ALIAS="none") == ["wagtail_licensing.W019"]
    assert "wagtail_licensing.W015" not in deploy_messages()  # W019 says it all


def test_what_w019_says_is_true(settings, occasional, client, manager):  # noqa: F811
    """With DummyCache every request reads the state from the database; a released session
    is still signed out (the release is marked in the database), not given another slot."""
    settings.CACHES = {**settings.CACHES, "none": {"BACKEND": DUMMY}}
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "CACHE_ALIAS": "none"}
    first, response = sign_in(occasional[0])
    assert response.status_code == 200
    with count_queries() as queries:
        first.get(ADMIN)
    assert any("wagtail_licensing_licensingstate" in sql for sql in queries.sql)
    slot = slots(occasional[0]).get()
    client.force_login(manager)
    client.post(reverse("wagtail_licensing_sessions:release", args=[slot.pk]))
    assert not slots(occasional[0]).exists()
    response = first.get(ADMIN)
    assert response.url.startswith("/admin/login/")  # signed out ...
    assert not slots(occasional[0]).exists()  # ... not given a slot again


@override_settings(CACHES={"default": {"BACKEND": LOCMEM}})
def test_locmem_signs_a_released_session_out_in_the_same_process(occasional, client,  # noqa: F811
                                                                 manager):
    """The W015 limit is about other processes: in the releasing one the marker is seen."""
    caches["default"].clear()
    first, _ = sign_in(occasional[0])
    client.force_login(manager)
    client.post(reverse("wagtail_licensing_sessions:release",
                        args=[slots(occasional[0]).get().pk]))
    assert first.get(ADMIN).url.startswith("/admin/login/")
