"""System checks of the enforcement settings (wagtail_licensing.W010 - E014)."""

import pytest
from django.core.checks import run_checks

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


def test_deploy_check_wants_a_shared_cache(settings, tmp_path):
    def deploy_ids():
        return sorted(m.id for m in run_checks(include_deployment_checks=True)
                      if m.id.startswith("wagtail_licensing"))

    assert "wagtail_licensing.W015" in deploy_ids()  # the tests' LocMemCache
    assert "wagtail_licensing.W015" not in ids(settings)  # only with check --deploy
    settings.CACHES = {**settings.CACHES, "shared": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path)}}
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "CACHE_ALIAS": "shared"}
    assert "wagtail_licensing.W015" not in deploy_ids()
