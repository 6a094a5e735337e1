"""System checks with stable IDs."""

import pytest
from django.core.checks import run_checks

from wagtail_licensing.conf import licensing_settings


def ids(settings_value, settings):
    settings.WAGTAIL_LICENSING = settings_value
    return sorted(m.id for m in run_checks() if m.id.startswith("wagtail_licensing"))


def test_configured_key_passes(settings, vendor):
    assert ids({"VENDOR_PUBLIC_KEYS": {vendor.kid: vendor.public_pem}}, settings) == []


def test_missing_key_is_reported(settings):
    assert ids({}, settings) == ["wagtail_licensing.W001"]


def test_unreadable_key_file_and_bad_pem_are_reported(settings, tmp_path, vendor):
    not_ed25519 = tmp_path / "rsa.pem"
    not_ed25519.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    messages = ids({"VENDOR_PUBLIC_KEYS": {
        "gone": str(tmp_path / "missing.pem"),
        "junk": str(not_ed25519),
        "good": vendor.public_pem,
    }}, settings)
    assert messages == ["wagtail_licensing.E002", "wagtail_licensing.E002"]


def test_key_from_a_path_loads(settings, tmp_path, vendor):
    path = tmp_path / "vendor.pem"
    path.write_text(vendor.public_pem)
    assert ids({"VENDOR_PUBLIC_KEYS": {"v": str(path)}}, settings) == []
    from wagtail_licensing import keys

    assert set(keys.public_keys()) == {"v"}


def test_bad_settings_are_reported(settings, vendor):
    base = {"VENDOR_PUBLIC_KEYS": {vendor.kid: vendor.public_pem}}
    assert ids({**base, "DEMO_ACCESS": "nobody"}, settings) == ["wagtail_licensing.E003"]
    assert ids({**base, "GRACE_DAYS": -1}, settings) == ["wagtail_licensing.E005"]
    assert ids({**base, "GARCE_DAYS": 1}, settings) == ["wagtail_licensing.W004"]


@pytest.mark.parametrize("value", [-1, "5", None, True, float("inf"), float("nan")])
def test_state_recheck_seconds_must_be_a_number_from_0_up(settings, vendor, value):
    base = {"VENDOR_PUBLIC_KEYS": {vendor.kid: vendor.public_pem}}
    assert ids({**base, "STATE_RECHECK_SECONDS": value}, settings) == ["wagtail_licensing.E017"]


@pytest.mark.parametrize("value", [0, 0.5, 5, 60])
def test_state_recheck_seconds_accepts_numbers_from_0_up(settings, vendor, value):
    base = {"VENDOR_PUBLIC_KEYS": {vendor.kid: vendor.public_pem}}
    assert ids({**base, "STATE_RECHECK_SECONDS": value}, settings) == []


def test_settings_merge_over_defaults(settings):
    settings.WAGTAIL_LICENSING = {"WARN_DAYS": 7}
    assert licensing_settings.WARN_DAYS == 7
    assert licensing_settings.GRACE_DAYS == 0
    settings.WAGTAIL_LICENSING = {}
    assert licensing_settings.WARN_DAYS == 30
