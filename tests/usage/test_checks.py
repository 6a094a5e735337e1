"""Checks E050/E051: the usage, idle and reclaim windows."""

import pytest

from wagtail_licensing import reclaim
from wagtail_licensing.checks import check_usage_settings


def ids(settings, **values):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, **values}
    return [message.id for message in check_usage_settings()]


@pytest.mark.parametrize("values", [
    {"IDLE_DAYS": 0}, {"IDLE_DAYS": "60"}, {"USAGE_RETENTION_DAYS": 1.5},
    {"RECLAIM_IDLE_DAYS": 0}, {"RECLAIM_NOTICE_DAYS": -1},
])
def test_wrong_windows_are_e050(settings, values):
    assert ids(settings, **values) == ["wagtail_licensing.E050"]


def test_a_notice_period_as_long_as_the_idle_period_is_e051(settings):
    assert ids(settings, RECLAIM_IDLE_DAYS=7, RECLAIM_NOTICE_DAYS=7) == [
        "wagtail_licensing.E051"]


def test_the_defaults_and_reclaim_on_pass(settings):
    assert ids(settings) == []
    assert ids(settings, RECLAIM_IDLE_DAYS=90, RECLAIM_NOTICE_DAYS=0) == []


def test_wrong_reclaim_settings_reclaim_nothing(settings, installed):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "RECLAIM_IDLE_DAYS": 7,
                                  "RECLAIM_NOTICE_DAYS": 7}
    assert reclaim.reclaim_settings() is None
    assert not reclaim.run_reclaim().enabled
