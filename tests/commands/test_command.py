"""`manage.py licensing ...` through call_command."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wagtail_licensing.models import LicenseAssignment, LicensingState

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("licensing", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_status_in_demo_mode(state):
    output = run("status")
    assert "demo mode" in output
    assert str(state.instance_id) in output


def test_status_lists_products(install, make_users):
    install(license_id="LIC-S")
    run("grant", "--product", "editor", *[u.username for u in make_users(2)])
    output = run("status")
    assert "LIC-S" in output
    line = next(line for line in output.splitlines() if line.startswith("editor"))
    assert line.split()[:5] == ["editor", "named", "5", "2", "3"]
    assert "unlimited" in next(line for line in output.splitlines()
                               if line.startswith("analytics"))


def test_status_json(install, superuser, state):
    license_file = install(license_id="LIC-J", company_id="ACME-J", user=superuser)
    data = json.loads(run("status", "--json"))
    assert data["company_id"] == "ACME-J"
    assert data["instance_id"] == str(state.instance_id)
    assert data["demo_mode"] is False
    assert data["license"] == {
        "license_id": "LIC-J", "license_version": license_file.license_version,
        "issued_at": license_file.issued_at.isoformat(),
        "installed_at": license_file.installed_at.isoformat(), "installed_by": "admin"}
    editor = next(p for p in data["products"] if p["code"] == "editor")
    assert editor == {**editor, "type": "named", "seats": 5, "used": 0, "available": 5,
                      "state": "active", "valid_from": license_file.products.get(
                          code="editor").valid_from.isoformat(),
                      "valid_until": license_file.products.get(
                          code="editor").valid_until.isoformat()}
    analytics = next(p for p in data["products"] if p["code"] == "analytics")
    assert analytics["seats"] is None and analytics["available"] is None


def test_status_json_in_demo_mode(state):
    data = json.loads(run("status", "--json"))
    assert data == {"company_id": "ACME", "instance_id": str(state.instance_id),
                    "demo_mode": True, "license": None, "products": [],
                    "licensing_problems": {}}


def test_upload_dry_run_changes_nothing_then_upload_installs(make_license, tmp_path):
    path = tmp_path / "acme.lic"
    path.write_text(make_license(license_id="LIC-U"))
    output = run("upload", str(path), "--dry-run")
    assert "added" in output and "editor" in output and "Dry run" in output
    assert LicensingState.get().demo_mode
    output = run("upload", str(path))
    assert "Installed license file LIC-U" in output
    assert LicensingState.get().installed_file.license_id == "LIC-U"
    # Again: already installed, says so, exits cleanly.
    assert "already installed" in run("upload", str(path))


def test_upload_of_a_bad_file_fails_with_the_reason(tmp_path, db):
    path = tmp_path / "bad.lic"
    path.write_text("nonsense")
    with pytest.raises(CommandError, match="not a license file"):
        run("upload", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        run("upload", str(tmp_path / "missing.lic"))


def test_grant_and_recall(installed, make_users):
    users = make_users(2)
    output = run("grant", "--product", "editor", "--product", "analytics", "user0", "user1")
    assert "Granted CMS editor (editor) to 2 users" in output
    assert LicenseAssignment.objects.filter(user__in=users).count() == 4
    assert LicenseAssignment.objects.first().source == "command"
    output = run("recall", "--product", "editor", "user0")
    assert "Recalled CMS editor (editor) from 1 user" in output
    assert LicenseAssignment.objects.count() == 3


def test_grant_to_unknown_users_changes_nothing(installed, make_users):
    make_users(1)
    with pytest.raises(CommandError, match="Unknown users: ghost"):
        run("grant", "--product", "editor", "user0", "ghost")
    assert not LicenseAssignment.objects.exists()


def test_grant_beyond_seats_fails(installed, make_users):
    users = make_users(6)
    with pytest.raises(CommandError, match="refused"):
        run("grant", "--product", "editor", *[u.username for u in users])
    assert not LicenseAssignment.objects.exists()


def test_request_writes_the_file(tmp_path, state):
    target = tmp_path / "req.tlr"
    output = run("request", "--company-id", "ACME", "--license-version", "3.1", "-o",
                 str(target))
    assert str(target) in output
    data = json.loads(target.read_text())
    assert data["company_id"] == "ACME" and data["license_version"] == "3.1"
    assert data["instance_id"] == str(state.instance_id)


def test_delete_needs_yes(installed):
    with pytest.raises(CommandError, match="--yes"):
        run("delete")
    assert not LicensingState.get().demo_mode
    assert "demo mode" in run("delete", "--yes")
    assert LicensingState.get().demo_mode
    with pytest.raises(CommandError, match="nothing to delete"):
        run("delete", "--yes")
