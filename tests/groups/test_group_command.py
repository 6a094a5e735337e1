"""``manage.py licensing groups list|bind|unbind|reprocess`` and the problems in ``status``."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wagtail_licensing.models import GroupLicense, GroupLicenseError, LicenseAssignment

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("licensing", *args, stdout=out)
    return out.getvalue()


def test_bind_dry_run_changes_nothing_and_says_who_is_left(two_seats, writers):
    out = run("groups", "bind", "Writers", "--product", "editor", "--dry-run")
    assert "4 need a seat, 2 available" in out
    assert "2 would be left without a seat: user2, user3" in out
    assert not GroupLicense.objects.exists()
    data = json.loads(
        run("groups", "bind", "Writers", "--product", "editor", "--dry-run", "--json")
    )
    assert data["preview"][0]["left_without"] == 2


def test_bind_list_status_unbind(two_seats, writers):
    out = run("groups", "bind", "Writers", "--product", "editor", "--priority", "5")
    assert "Bound editor to Writers." in out
    assert "2 members are left without a seat" in out
    data = json.loads(run("groups", "list", "--json"))
    assert data["bindings"] == [
        {
            "group_id": writers.pk,
            "group": "Writers",
            "code": "editor",
            "priority": 5,
            "members": 4,
            "holders": 2,
            "errors": 2,
        }
    ]
    assert {e["user"] for e in data["errors"]} == {"user2", "user3"}
    assert "user2: no editor from Writers (not_enough_seats)" in run("groups", "list", "--errors")
    assert "Licensing problems: 2 members" in run("status")
    assert json.loads(run("status", "--json"))["licensing_problems"] == {"editor": 2}
    data = json.loads(run("groups", "unbind", "Writers", "--product", "editor", "--json"))
    assert data["unbound"] == ["editor"] and data["removed"] == {"editor": 2}
    assert not LicenseAssignment.objects.exists() and not GroupLicenseError.objects.exists()


def test_reprocess_json_and_errors(installed, writers):
    run("groups", "bind", "Writers", "--product", "analytics")
    LicenseAssignment.objects.filter(user__username="user0").delete()  # behind our back
    data = json.loads(run("groups", "reprocess", "--group", "Writers", "--json"))
    assert data["event"] == "reprocessed" and data["granted"] == {"analytics": 1}
    data = json.loads(run("groups", "reprocess", "--user", "user1", "--json"))
    assert data["granted"] == {}
    with pytest.raises(CommandError, match="Unknown group"):
        run("groups", "bind", "Nobody", "--product", "editor")
    with pytest.raises(CommandError, match="needs --group"):
        run("groups", "reprocess", "--remove-manual")
    with pytest.raises(CommandError, match="refused"):
        run("groups", "bind", "Writers", "--product", "nope")
